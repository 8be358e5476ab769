"""What one decision needs from the registry, read in ONE query.

Hand-written SQL on purpose: the ORM spends longer building these joins than the database
spends answering them, and this runs on every decision. Only table and column names from
model metadata and ``%s`` placeholders go into the string.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from agents.models import Connection, OrganisationPolicy, Scope, ScopeGrant


@dataclass(frozen=True)
class ConnectionRow:
    """The connection fields the rules read (a plain row, not a model instance)."""

    pk: int
    allowed_actions: list[str]
    rate_limit: int | None
    rate_window_seconds: int
    budget_cap: Decimal | None
    budget_period: str
    trust_floor: str
    log_only_rules: list[str]
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class PolicyRow:
    org_trust_floor: str
    log_only_rules: list[str]
    approval_window_minutes: int
    approval_expiry_hours: int


@dataclass(frozen=True)
class DecisionContext:
    scope_known: bool
    granted: bool
    connection: ConnectionRow | None
    policy: PolicyRow
    granted_until: dt.datetime | None = None  # the grant's expiry (None: never, or no grant)


def _t(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.lru_cache(maxsize=4)
def _sql(vendor: str) -> str:
    scope, grant, conn, policy = _t(Scope), _t(ScopeGrant), _t(Connection), _t(OrganisationPolicy)
    return (
        "SELECT "  # noqa: S608
        f"(SELECT id FROM {scope} WHERE name = %s), "
        f"EXISTS (SELECT 1 FROM {grant} g JOIN {scope} s ON s.id = g.scope_id "
        "WHERE g.agent_id = %s AND s.name = %s AND g.status = 'active' "
        "AND (g.expires_at IS NULL OR g.expires_at > %s)), "
        # When the grant found above lapses (NULL: never, or no grant): how long a cache may
        # keep "granted" without asking again.
        f"(SELECT g.expires_at FROM {grant} g JOIN {scope} s ON s.id = g.scope_id "
        "WHERE g.agent_id = %s AND s.name = %s AND g.status = 'active' "
        "AND (g.expires_at IS NULL OR g.expires_at > %s) "
        "ORDER BY (g.expires_at IS NULL) DESC, g.expires_at DESC LIMIT 1), "
        "c.id, c.allowed_actions, c.rate_limit, c.rate_window_seconds, c.budget_cap, "
        "c.budget_period, c.trust_floor, c.log_only_rules, c.expires_at, "
        "p.id, p.org_trust_floor, p.log_only_rules, p.approval_window_minutes, "
        "p.approval_expiry_hours "
        "FROM (SELECT 1 AS one) AS base "
        f"LEFT JOIN {conn} c ON c.agent_id = %s AND c.resource_id = %s "
        f"LEFT JOIN {policy} p ON p.id = 1"
    )


def _json(value: Any) -> list:
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return value if isinstance(value, list) else []


def _datetime(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)  # SQLite stores UTC without an offset
    return parsed


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.0001"))


def decision_context(
    *, agent_id: int | None, resource_id: int, scope_name: str, now: dt.datetime
) -> DecisionContext:
    """Scope known? granted? the connection, the organisation policy — one round trip."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(connection.vendor),
            [
                scope_name,
                agent_id or 0,
                scope_name,
                stamp,
                agent_id or 0,
                scope_name,
                stamp,
                agent_id or 0,
                resource_id,
            ],
        )
        row = cursor.fetchone()
    granted_until = _datetime(row[2])
    row = row[:2] + row[3:]
    conn = None
    if row[2] is not None:
        conn = ConnectionRow(
            pk=row[2],
            allowed_actions=_json(row[3]),
            rate_limit=row[4],
            rate_window_seconds=row[5],
            budget_cap=_decimal(row[6]),
            budget_period=row[7],
            trust_floor=row[8],
            log_only_rules=_json(row[9]),
            expires_at=_datetime(row[10]),
        )
    if row[11] is None:
        org = OrganisationPolicy.current()  # a fresh install: make the row once
        policy = PolicyRow(
            org.org_trust_floor,
            list(org.log_only_rules or []),
            org.approval_window_minutes,
            org.approval_expiry_hours,
        )
    else:
        policy = PolicyRow(row[12], _json(row[13]), row[14], row[15])
    return DecisionContext(
        scope_known=row[0] is not None,
        granted=bool(row[1]),
        connection=conn,
        policy=policy,
        granted_until=granted_until,
    )
