"""Portal pages: the dashboard and the agents an owner may see, with lifecycle buttons.

Every list goes through ``Agent.objects.visible_to(user)``, so another team's agent is a 404,
never a 403 that would confirm it exists. Buttons POST to ``agent_lifecycle``, which re-checks
the permission and calls the registry's service; the service writes the audit entry.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agents import services
from agents.errors import RegistryError
from agents.models import Agent, ScopeGrant, TrustLevel
from agents.permissions import (
    can_contain_agent,
    can_manage_agent,
    can_see_everything,
    teams_visible_to,
)
from agents.selectors import agents_filtered, agents_visible
from audit.models import AuditEntry

from .forms import LifecycleForm

# action → (service, permission check, past tense for the message)
LIFECYCLE = {
    "suspend": (services.agent_suspend, can_contain_agent, "suspended"),
    "reactivate": (services.agent_reactivate, can_manage_agent, "reactivated"),
    "decommission": (services.agent_decommission, can_manage_agent, "decommissioned"),
}
# Which buttons make sense in which state (the service still has the last word).
ACTIONS_BY_STATUS = {
    Agent.Status.ACTIVE: ("suspend", "decommission"),
    Agent.Status.SUSPENDED: ("reactivate", "decommission"),
    Agent.Status.DECOMMISSIONED: (),
}


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Counts by status and trust level, and the most recently changed agents."""
    agents = agents_visible(request.user)
    counts = agents.aggregate(
        total=Count("pk"),
        **{f"status_{s.value}": Count("pk", filter=Q(status=s.value)) for s in Agent.Status},
        **{f"trust_{t.value}": Count("pk", filter=Q(trust_level=t.value)) for t in TrustLevel},
    )
    teams = teams_visible_to(request.user).annotate(
        agent_count=Count("agents", filter=~Q(agents__status=Agent.Status.DECOMMISSIONED))
    )
    return render(
        request,
        "portal/dashboard.html",
        {
            "counts": counts,
            "teams": teams.order_by("name")[:20],
            "recent": agents.order_by("-updated_at")[:10],
            "sees_all": can_see_everything(request.user),
            "section": "dashboard",
        },
    )


@login_required
def agent_list(request: HttpRequest) -> HttpResponse:
    """The agents the user may see, filtered (a bad value drops only its own filter), paginated."""
    filterset = agents_filtered(request.user, request.GET)
    page = Paginator(filterset.qs.order_by("slug"), 50).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "portal/agent_list.html",
        {"form": filterset.form, "page": page, "filters": keep.urlencode(), "section": "agents"},
    )


@login_required
def agent_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One agent: identity, versions, grants, connections, recent audit, lifecycle buttons."""
    agent = get_object_or_404(agents_visible(request.user), slug=slug)
    actions = [
        name for name in ACTIONS_BY_STATUS[agent.status] if LIFECYCLE[name][1](request.user, agent)
    ]
    return render(
        request,
        "portal/agent_detail.html",
        {
            "agent": agent,
            "actions": actions,
            "versions": agent.versions.order_by("-created_at")[:10],
            "grants": agent.grants.filter(status=ScopeGrant.Status.ACTIVE)
            .select_related("scope", "granted_by")
            .order_by("scope__name"),
            "connections": agent.connections.select_related("resource").order_by("resource__slug"),
            "history": AuditEntry.objects.filter(resource=agent.principal).order_by("-id")[:20],
            "form": LifecycleForm(),
            "section": "agents",
        },
    )


@require_POST
@login_required
def agent_lifecycle(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    """Suspend, reactivate or decommission, after re-checking the permission."""
    if action not in LIFECYCLE:
        raise Http404("No such action.")
    agent = get_object_or_404(agents_visible(request.user), slug=slug)
    service, allowed, done = LIFECYCLE[action]
    if not allowed(request.user, agent):
        raise PermissionDenied(f"You may not {action} this agent.")
    form = LifecycleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The reason is too long (500 characters at most).")
        return redirect("portal:agent-detail", slug=agent.slug)
    try:
        service(agent=agent, by=request.user, reason=form.cleaned_data["reason"])
    except RegistryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Agent {agent.slug} {done}.")
    return redirect("portal:agent-detail", slug=agent.slug)
