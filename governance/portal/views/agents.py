"""The dashboard, the agents list, one agent's page, registering an agent, a new version."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from agents import services
from agents.models import Agent, TrustLevel
from agents.permissions import (
    can_manage_agent,
    can_see_everything,
    teams_managed_by,
    teams_visible_to,
)
from agents.selectors import agents_filtered, agents_visible

from .. import selectors
from ..forms import AgentRegisterForm, VersionForm
from ..trust_panel import trust_context, with_pins
from .common import agent_for, render_form, submit
from .lifecycle import steps_for


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
            "recent": with_pins(agents).order_by("-updated_at")[:10],
            "sees_all": can_see_everything(request.user),
            "may_register": teams_managed_by(request.user).exists(),
            "section": "dashboard",
        },
    )


@login_required
def agent_list(request: HttpRequest) -> HttpResponse:
    """The agents the user may see, filtered (a bad value drops only its own filter), paginated."""
    filterset = agents_filtered(request.user, request.GET)
    page = Paginator(with_pins(filterset.qs).order_by("slug"), 50).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "portal/agent_list.html",
        {
            "form": filterset.form,
            "page": page,
            "filters": keep.urlencode(),
            "filtered": any(request.GET.get(name) for name in filterset.filters),
            "may_register": teams_managed_by(request.user).exists(),
            "section": "agents",
        },
    )


@login_required
def agent_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One agent: identity, access, credentials, versions and its history in sentences."""
    agent = agent_for(request, slug)
    return render(
        request,
        "portal/agent_detail.html",
        {
            **selectors.agent_page(agent, request.user),
            **trust_context(agent),
            "steps": steps_for(request.user, agent),
            "section": "agents",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def agent_register(request: HttpRequest) -> HttpResponse:
    """Register an agent with its first version, for one of the teams the user manages."""
    teams = teams_managed_by(request.user).filter(is_active=True).order_by("name")
    if not teams.exists():
        raise PermissionDenied("You manage no team, so you cannot register an agent.")
    form = AgentRegisterForm(request.POST or None, request.FILES or None, teams=teams)
    done, agent = submit(
        request,
        form,
        lambda data: services.agent_register(
            slug=data["slug"],
            display_name=data["display_name"],
            purpose=data["purpose"],
            owner_team=data["owner_team"],
            by=request.user,
            version_label=data["version_label"],
            config_digest=data["config_digest"],
            requested_scopes=data["requested_scopes"],
        ),
    )
    if done:
        messages.success(
            request,
            f"Agent {agent.slug} registered. Next: issue it a credential and ask for the "
            "scopes it needs.",
        )
        return redirect("portal:agent-detail", slug=agent.slug)
    return render_form(request, "portal/agent_register.html", {}, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def version_add(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload a new version: current at once if it asks for the access the agent holds, else a
    scope review opens and decides it."""
    agent = agent_for(request, slug, allowed=can_manage_agent)
    form = VersionForm(request.POST or None, request.FILES or None, agent=agent)
    done, version = submit(
        request,
        form,
        lambda data: services.agent_version_add(
            agent=agent,
            label=data["version_label"],
            config_digest=data["config_digest"],
            requested_scopes=data["requested_scopes"],
            by=request.user,
        ),
    )
    if done:
        if version.scope_review == version.ScopeReview.PENDING:
            messages.success(
                request,
                f"Version {version.label} asks for different access: a security reviewer "
                "decides it; until then the current version stays and the agent is PENDING.",
            )
        else:
            messages.success(
                request, f"Version {version.label} recorded; it is current and awaits review."
            )
        return redirect("portal:agent-detail", slug=agent.slug)
    return render_form(request, "portal/version_add.html", {"agent": agent}, form=form)
