"""Agents' lifecycle, versions and workflow runs, each one transaction with its audit entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from audit.principals import By, actor_principal, user_principal
from audit.services import record

from ..errors import InvalidTransition, RegistryError
from ..events import trust_signals_changed
from ..models import Agent, Scope, ScopeGrant, Team, Workflow, WorkflowRun
from ..permissions import agents_managed_by

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

_ALLOWED = {
    # target status: statuses it may be reached from
    Agent.Status.SUSPENDED: {Agent.Status.ACTIVE},
    Agent.Status.ACTIVE: {Agent.Status.SUSPENDED},
    Agent.Status.DECOMMISSIONED: {Agent.Status.ACTIVE, Agent.Status.SUSPENDED},
}


def _user(by: By) -> AbstractBaseUser | None:
    """The user to store as ``created_by``/``granted_by``; None for a principal string."""
    return None if isinstance(by, str) or by is None else by


@transaction.atomic
def agent_register(
    *,
    slug: str,
    display_name: str,
    purpose: str,
    owner_team: Team,
    by: By = None,
    version_label: str = "",
    config_digest: str = "",
    requested_scopes: Iterable[Scope] = (),
) -> Agent:
    """Register a new agent for a team; it starts active and UNTRUSTED."""
    if not owner_team.is_active:
        raise InvalidTransition(f"team {owner_team.slug} is not active")
    agent = Agent(slug=slug, display_name=display_name, purpose=purpose, owner_team=owner_team)
    agent.created_by = _user(by)
    agent.full_clean()
    agent.save()
    if version_label:
        from .versions import agent_version_add

        agent_version_add(
            agent=agent,
            label=version_label,
            config_digest=config_digest,
            requested_scopes=requested_scopes,
            by=by,
        )
    record(
        actor=actor_principal(by),
        action="agent.register",
        resource=agent.principal,
        target_type="agent",
        target_id=agent.pk,
        changes={"slug": slug, "owner_team": owner_team.slug, "display_name": display_name},
    )
    return agent


def _transition(*, agent: Agent, to: str, action: str, by: By, reason: str) -> Agent:
    locked = Agent.objects.select_for_update().get(pk=agent.pk)
    if locked.status not in _ALLOWED[to]:
        raise InvalidTransition(
            f"cannot {action.split('.')[-1]} agent {locked.slug}: it is {locked.status}"
        )
    before = locked.status
    locked.status = to
    locked.status_reason = reason
    locked.status_changed_at = timezone.now()
    locked.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    record(
        actor=actor_principal(by),
        action=action,
        resource=locked.principal,
        target_type="agent",
        target_id=locked.pk,
        reason=reason,
        changes={"status": [before, to]},
    )
    trust_signals_changed(locked.pk)
    agent.status, agent.status_reason = locked.status, locked.status_reason
    agent.status_changed_at = locked.status_changed_at
    return locked


@transaction.atomic
def agent_suspend(*, agent: Agent, by: By = None, reason: str = "") -> Agent:
    """Suspend an active agent: its very next token request or decision is refused."""
    return _transition(
        agent=agent, to=Agent.Status.SUSPENDED, action="agent.suspend", by=by, reason=reason
    )


@transaction.atomic
def agent_reactivate(*, agent: Agent, by: By = None, reason: str = "") -> Agent:
    """Bring a suspended agent back."""
    return _transition(
        agent=agent, to=Agent.Status.ACTIVE, action="agent.reactivate", by=by, reason=reason
    )


@transaction.atomic
def agent_decommission(*, agent: Agent, by: By = None, reason: str = "") -> Agent:
    """Retire an agent for good and end all its grants; there is no way back."""
    locked = _transition(
        agent=agent,
        to=Agent.Status.DECOMMISSIONED,
        action="agent.decommission",
        by=by,
        reason=reason,
    )
    from .grants import grant_end

    for grant in ScopeGrant.objects.filter(agent=locked, status=ScopeGrant.Status.ACTIVE):
        grant_end(
            grant=grant, status=ScopeGrant.Status.REVOKED, by=by, reason="agent decommissioned"
        )
    return locked


MAX_RUN_PARTICIPANTS = 100


def _run_participants(participants: Iterable[Agent], user) -> list[Agent]:
    """The agents a run names, each active and (for a person) one that person manages."""
    agents = list(dict.fromkeys(participants))
    if len(agents) > MAX_RUN_PARTICIPANTS:
        raise RegistryError(f"a run names at most {MAX_RUN_PARTICIPANTS} participating agents")
    for agent in agents:
        if agent.status != Agent.Status.ACTIVE:
            raise RegistryError(f"agent {agent.slug} is {agent.status}, not active")
    if user is not None and agents:
        # Naming an agent lets it bind tokens to the run, and so file its actions under it:
        # only someone who manages the agent (or a platform admin) may do that.
        managed = set(
            agents_managed_by(user)
            .filter(pk__in=[a.pk for a in agents])
            .values_list("pk", flat=True)
        )
        outside = [a.slug for a in agents if a.pk not in managed]
        if outside:
            raise RegistryError(f"you may not name agent {outside[0]} in a run")
    return agents


@transaction.atomic
def run_start(
    *,
    workflow: Workflow,
    run_id: str,
    participants: Iterable[Agent] = (),
    triggered_by: str = "",
    deadline: dt.datetime | None = None,
    by: By = None,
) -> WorkflowRun:
    """Start a workflow run naming its participating agents; only they may bind tokens to it.

    A person starting a run is the one who triggered it (``triggered_by`` is theirs, never
    taken from input); a system principal (the CLI, demo data, a schedule) may say on whose
    behalf it starts one.
    """
    user = _user(by)
    if user is not None:
        if triggered_by and triggered_by != user_principal(user):
            raise RegistryError("a run is triggered by the person who starts it")
        triggered_by = user_principal(user)
    triggered_by = triggered_by or actor_principal(by)
    agents = _run_participants(participants, user)
    run = WorkflowRun(
        workflow=workflow, run_id=run_id, triggered_by=triggered_by, deadline=deadline
    )
    run.full_clean()
    run.save()
    run.participants.set(agents)
    record(
        actor=actor_principal(by),
        action="run.start",
        resource=f"workflow:{workflow.slug}",
        target_type="workflow_run",
        target_id=run.pk,
        workflow_run=run.run_id,
        changes={
            "triggered_by": triggered_by,
            "participants": [a.slug for a in agents],
            "deadline": deadline.isoformat() if deadline else None,
        },
    )
    return run


def _run_end(*, run: WorkflowRun, status: str, by: By, reason: str) -> WorkflowRun:
    locked = WorkflowRun.objects.select_for_update().select_related("workflow").get(pk=run.pk)
    if locked.status != WorkflowRun.Status.RUNNING:
        raise InvalidTransition(f"run {locked.run_id} is already {locked.status}")
    locked.status = status
    locked.ended_at = timezone.now()
    locked.save(update_fields=["status", "ended_at"])
    record(
        actor=actor_principal(by),
        action=f"run.{'complete' if status == WorkflowRun.Status.COMPLETED else status}",
        resource=f"workflow:{locked.workflow.slug}",
        target_type="workflow_run",
        target_id=locked.pk,
        workflow_run=locked.run_id,
        reason=reason,
        changes={"status": ["running", status]},
    )
    run.status, run.ended_at = locked.status, locked.ended_at
    return locked


@transaction.atomic
def run_complete(*, run: WorkflowRun, by: By = None, reason: str = "") -> WorkflowRun:
    """Complete a run; every token bound to it stops working at once."""
    return _run_end(run=run, status=WorkflowRun.Status.COMPLETED, by=by, reason=reason)


@transaction.atomic
def run_cancel(*, run: WorkflowRun, by: By = None, reason: str = "") -> WorkflowRun:
    """Cancel a run; every token bound to it stops working at once."""
    return _run_end(run=run, status=WorkflowRun.Status.CANCELLED, by=by, reason=reason)
