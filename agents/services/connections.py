"""Connections of agents to resources: what an agent may do there, and its limits.

Every allowed action must be one a scope of the resource covers (``catalogue.check_actions``),
so the decision point can decide each of them. A connection to a resource another team owns
waits for that team's consent (``Connection.Status.PENDING``): the decision point and the
token endpoint read active connections only.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from audit.changes import snapshot
from audit.principals import By, actor_principal
from audit.services import record

from ..errors import GrantForbidden, InvalidTransition
from ..models import Agent, Connection, Resource
from ..notices.services import notify
from ..permissions import can_manage_team
from .catalogue import check_actions
from .edits import edit
from .lifecycle import _user

CONNECTION_FIELDS = (
    "allowed_actions",
    "rate_limit",
    "rate_window_seconds",
    "budget_cap",
    "budget_period",
    "trust_floor",
    "log_only_rules",
    "expires_at",
)


@transaction.atomic
def connection_create(
    *,
    agent: Agent,
    resource: Resource,
    allowed_actions: Iterable[str],
    by: By = None,
    rate_limit: int | None = None,
    rate_window_seconds: int = 60,
    budget_cap: decimal.Decimal | None = None,
    budget_period: str = Connection.BudgetPeriod.DAY,
    trust_floor: str = "pending",
    log_only_rules: Iterable[str] = (),
    expires_at: dt.datetime | None = None,
) -> Connection:
    """Connect an agent to a resource: the actions it may take there and the limits."""
    if agent.status == Agent.Status.DECOMMISSIONED:
        raise InvalidTransition(f"agent {agent.slug} is decommissioned")
    if Connection.objects.filter(agent=agent, resource=resource).exists():
        raise InvalidTransition(f"agent {agent.slug} is already connected to {resource.slug}")
    consent = needs_consent(agent=agent, resource=resource, by=by)
    connection = Connection(
        agent=agent,
        resource=resource,
        status=Connection.Status.PENDING if consent else Connection.Status.ACTIVE,
        allowed_actions=check_actions(resource, list(allowed_actions)),
        rate_limit=rate_limit,
        rate_window_seconds=rate_window_seconds,
        budget_cap=budget_cap,
        budget_period=budget_period,
        trust_floor=trust_floor,
        log_only_rules=list(log_only_rules),
        expires_at=expires_at,
    )
    connection.full_clean()
    connection.save()
    record(
        actor=actor_principal(by),
        action="connection.create",
        resource=agent.principal,
        target_type="connection",
        target_id=connection.pk,
        changes={
            "resource": resource.slug,
            "status": connection.status,
            **snapshot(connection, CONNECTION_FIELDS),
        },
    )
    if consent:
        notify(
            kind="connection.consent",
            subject=f"{agent.slug} asks to connect to {resource.slug}",
            body=f"Team {agent.owner_team.name} connected {agent.slug} to {resource.name} "
            f"({', '.join(connection.allowed_actions)}). It stays unusable until your team "
            "accepts it.",
            team=resource.owner_team,
            link=f"/portal/resources/{resource.slug}/",
            dedupe_key=f"connection-consent-{connection.pk}",
        )
    return connection


def needs_consent(*, agent: Agent, resource: Resource, by) -> bool:
    """Does connecting ``agent`` to ``resource`` wait for the resource owners' consent? Yes when
    another team owns the resource, unless the person connecting may speak for that team (one
    of its managers, or a platform admin). A system principal (the CLI without ``--by``, demo
    data) is trusted like an admin."""
    owner = resource.owner_team_id
    if owner is None or owner == agent.owner_team_id:
        return False
    user = _user(by)
    return user is not None and not can_manage_team(user, owner)


@transaction.atomic
def connection_consent(
    *, connection: Connection, accept: bool, by, comment: str = ""
) -> Connection:
    """The resource owners accept (the connection becomes usable) or decline a connection
    waiting for their consent; a manager of the resource's team or a platform admin."""
    locked = (
        Connection.objects.select_for_update()
        .select_related("agent", "agent__owner_team", "resource")
        .get(pk=connection.pk)
    )
    if not can_manage_team(_user(by), locked.resource.owner_team_id):
        raise GrantForbidden(f"only {locked.resource.slug}'s owners consent to its connections")
    if locked.status != Connection.Status.PENDING:
        raise InvalidTransition(f"connection {locked.pk} is {locked.status}, not pending")
    before = locked.status
    locked.status = Connection.Status.ACTIVE if accept else Connection.Status.DECLINED
    locked.save(update_fields=["status"])
    record(
        actor=actor_principal(by),
        action="connection.accept" if accept else "connection.decline",
        resource=locked.agent.principal,
        target_type="connection",
        target_id=locked.pk,
        reason=comment,
        changes={"resource": locked.resource.slug, "status": [before, locked.status]},
    )
    notify(
        kind=f"connection.{'accepted' if accept else 'declined'}",
        subject=f"{locked.agent.slug} → {locked.resource.slug}: "
        f"{'accepted' if accept else 'declined'}",
        body=comment or "No comment.",
        team=locked.agent.owner_team,
        link=f"/portal/agents/{locked.agent.slug}/",
        dedupe_key=f"connection-consent-{locked.pk}-decided",
    )
    connection.status = locked.status
    return locked


@transaction.atomic
def connection_update(
    *, connection: Connection, data: Mapping[str, Any], by: By = None, reason: str = ""
) -> Connection:
    """Change what a connection allows and its limits; agent and resource stay fixed."""
    locked = (
        Connection.objects.select_for_update()
        .select_related("agent", "resource")
        .get(pk=connection.pk)
    )
    data = dict(data)
    if "allowed_actions" in data:
        data["allowed_actions"] = check_actions(locked.resource, data["allowed_actions"])
    return edit(
        locked,
        data=data,
        fields=CONNECTION_FIELDS,
        by=by,
        action="connection.update",
        resource=locked.agent.principal,
        target_type="connection",
        reason=reason,
    )


@transaction.atomic
def connection_delete(*, connection: Connection, by: By = None, reason: str = "") -> None:
    """Remove a connection: the agent can no longer act on that resource."""
    locked = (
        Connection.objects.select_for_update()
        .select_related("agent", "resource")
        .get(pk=connection.pk)
    )
    record(
        actor=actor_principal(by),
        action="connection.delete",
        resource=locked.agent.principal,
        target_type="connection",
        target_id=locked.pk,
        reason=reason,
        changes={"resource": locked.resource.slug, **snapshot(locked, CONNECTION_FIELDS)},
    )
    locked.delete()
