"""An agent's access from the portal: ask for a scope, revoke a grant, manage connections.

Each view finds the agent among those the user sees (404 otherwise), checks the right the API
checks for the same change (403 otherwise), and calls the registry service the API calls.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods

from agents import services
from agents.permissions import can_contain_agent, can_manage_agent
from governance.grants.models import GrantRequest
from governance.grants.services import grant_or_request

from ..forms import ConnectionForm, GrantRequestForm, ReasonForm
from .common import agent_for, confirm, render_form, submit

METHODS = require_http_methods(["GET", "POST"])


@login_required
@METHODS
def grant_request(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask for a scope for the agent: a low one is granted at once, any other becomes a grant
    request that a reviewer outside the team decides."""
    agent = agent_for(request, slug, allowed=can_manage_agent)
    form = GrantRequestForm(request.POST or None, agent=agent)
    done, made = submit(
        request,
        form,
        lambda data: grant_or_request(
            agent=agent,
            scope=data["scope"],
            justification=data["justification"],
            expires_at=data["expires_at"],
            by=request.user,
        ),
    )
    if done and isinstance(made, GrantRequest):
        messages.success(
            request,
            f"{made.scope.name} is {made.scope.sensitivity}: your request is with the security "
            "reviewers, who decide it. You will get a notice.",
        )
        return redirect("portal:agent-detail", slug=agent.slug)
    if done:
        messages.success(request, f"{agent.slug} now holds {made.scope.name}.")
        return redirect("portal:agent-detail", slug=agent.slug)
    return render_form(request, "portal/access/grant_request.html", {"agent": agent}, form=form)


@login_required
@METHODS
def grant_revoke(request: HttpRequest, slug: str, grant_id: int) -> HttpResponse:
    """Revoke one of the agent's active grants (its team, reviewers and admins)."""
    agent = agent_for(request, slug, allowed=can_contain_agent)
    grant = get_object_or_404(agent.grants.active().select_related("scope"), pk=grant_id)
    return confirm(
        request,
        agent=agent,
        form=ReasonForm(request.POST or None),
        change=lambda data: services.scope_revoke(
            grant=grant, by=request.user, reason=data["reason"]
        ),
        done=f"{grant.scope.name} revoked from {agent.slug}.",
        title=f"Revoke {grant.scope.name} from {agent.display_name}?",
        consequence="The agent's next decision that needs this scope is refused. Tokens "
        "already issued still name it until they expire, but the decision point checks the "
        "live grant.",
        button="Revoke",
    )


@login_required
@METHODS
def connection_add(request: HttpRequest, slug: str) -> HttpResponse:
    """Connect the agent to a resource: the actions it may take there and the limits."""
    agent = agent_for(request, slug, allowed=can_manage_agent)
    form = ConnectionForm(request.POST or None, agent=agent)
    done, connection = submit(
        request,
        form,
        lambda data: services.connection_create(
            agent=agent, resource=data["resource"], by=request.user, **form.changes()
        ),
    )
    if done:
        messages.success(request, f"{agent.slug} connected to {connection.resource.name}.")
        return redirect("portal:agent-detail", slug=agent.slug)
    return render_form(request, "portal/access/connection_form.html", {"agent": agent}, form=form)


def _connection(agent, connection_id: int):
    return get_object_or_404(agent.connections.select_related("resource"), pk=connection_id)


@login_required
@METHODS
def connection_edit(request: HttpRequest, slug: str, connection_id: int) -> HttpResponse:
    """Change what a connection allows and its limits."""
    agent = agent_for(request, slug, allowed=can_manage_agent)
    connection = _connection(agent, connection_id)
    form = ConnectionForm(request.POST or None, agent=agent, connection=connection)
    done, _ = submit(
        request,
        form,
        lambda data: services.connection_update(
            connection=connection, data=form.changes(), by=request.user
        ),
    )
    if done:
        messages.success(request, f"Connection to {connection.resource.name} saved.")
        return redirect("portal:agent-detail", slug=agent.slug)
    return render_form(
        request,
        "portal/access/connection_form.html",
        {"agent": agent, "connection": connection},
        form=form,
    )


@login_required
@METHODS
def connection_remove(request: HttpRequest, slug: str, connection_id: int) -> HttpResponse:
    """Remove a connection after a confirmation with a reason."""
    agent = agent_for(request, slug, allowed=can_manage_agent)
    connection = _connection(agent, connection_id)
    return confirm(
        request,
        agent=agent,
        form=ReasonForm(request.POST or None),
        change=lambda data: services.connection_delete(
            connection=connection, by=request.user, reason=data["reason"]
        ),
        done=f"Connection to {connection.resource.name} removed.",
        title=f"Remove the connection of {agent.display_name} to {connection.resource.name}?",
        consequence="Every decision of this agent on this resource is refused from now on. Its "
        "grants stay; connect it again to restore access.",
        button="Remove",
    )
