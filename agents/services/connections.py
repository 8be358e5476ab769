"""Connections of agents to resources: what an agent may do there, and its limits.

Every allowed action must be one a scope of the resource covers (``catalogue.check_actions``),
so the decision point can decide each of them.
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

from ..errors import InvalidTransition
from ..models import Agent, Connection, Resource
from .catalogue import check_actions
from .edits import edit

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
    connection = Connection(
        agent=agent,
        resource=resource,
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
        changes={"resource": resource.slug, **snapshot(connection, CONNECTION_FIELDS)},
    )
    return connection


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
