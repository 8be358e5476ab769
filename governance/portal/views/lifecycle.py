"""Suspend, reactivate and decommission: a page that says what will happen, a required reason.

The agent page links here; the change happens only on the POST of this page's form, which
re-checks the right and calls the registry's service (the one the API and the CLI call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from agents import services
from agents.models import Agent
from agents.permissions import can_contain_agent, can_manage_agent

from ..forms import DecommissionForm, ReasonForm
from .common import AgentCheck, agent_for, confirm


@dataclass(frozen=True)
class Step:
    service: Any
    allowed: AgentCheck
    form: type[ReasonForm]
    verb: str
    done: str
    button: str
    consequence: str


STEPS = {
    "suspend": Step(
        services.agent_suspend,
        can_contain_agent,
        ReasonForm,
        "Suspend",
        "suspended",
        "warn",
        "Its very next token request and every decision on its tokens are refused, at once. "
        "Its grants, connections and credentials stay as they are, so it can be reactivated.",
    ),
    "reactivate": Step(
        services.agent_reactivate,
        can_manage_agent,
        ReasonForm,
        "Reactivate",
        "reactivated",
        "primary",
        "It may get tokens again with its credentials, and act within its grants and connections.",
    ),
    "decommission": Step(
        services.agent_decommission,
        can_manage_agent,
        DecommissionForm,
        "Decommission",
        "decommissioned",
        "danger",
        "It is retired for good: it can never get a token again, every grant it holds is "
        "revoked now, and no new version or credential can be added. This cannot be undone.",
    ),
}
# Which steps make sense in which state (the service still has the last word).
STEPS_BY_STATUS = {
    Agent.Status.ACTIVE: ("suspend", "decommission"),
    Agent.Status.SUSPENDED: ("reactivate", "decommission"),
    Agent.Status.DECOMMISSIONED: (),
}


def steps_for(user, agent: Agent) -> list[tuple[str, Step]]:
    """The lifecycle steps the user may take on the agent in its current state."""
    return [
        (name, STEPS[name])
        for name in STEPS_BY_STATUS[agent.status]
        if STEPS[name].allowed(user, agent)
    ]


@login_required
@require_http_methods(["GET", "POST"])
def agent_lifecycle(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    """The confirmation page (GET) and the change itself (POST, with a reason)."""
    step = STEPS.get(action)
    if step is None:
        raise Http404("No such action.")
    agent = agent_for(request, slug, allowed=step.allowed)
    return confirm(
        request,
        agent=agent,
        form=step.form(request.POST or None),
        change=lambda data: step.service(agent=agent, by=request.user, reason=data["reason"]),
        done=f"Agent {agent.slug} {step.done}.",
        title=f"{step.verb} {agent.display_name}?",
        consequence=step.consequence,
        button=step.verb,
        button_class=step.button,
    )
