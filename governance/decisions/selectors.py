"""What one decision needs from the registry, read in ONE query.

Hand-written SQL on purpose: the ORM spends longer building these joins than the database
spends answering them, and this runs on every decision a warm process has not cached. Names
from model metadata, statuses as parameters, the row read by name (``credentials.rows``);
``tests/decisions/test_sql_oracles.py`` checks it against the ORM on generated data.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection

from agents.models import Connection, OrganisationPolicy, Scope, ScopeGrant
from credentials.rows import Select, column, table


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


# The fields of ConnectionRow and PolicyRow, read by name from the connection and policy rows.
_CONNECTION_FIELDS = (
    "id",
    "allowed_actions",
    "rate_limit",
    "rate_window_seconds",
    "budget_cap",
    "budget_period",
    "trust_floor",
    "log_only_rules",
    "expires_at",
)
_POLICY_FIELDS = (
    "id",
    "org_trust_floor",
    "log_only_rules",
    "approval_window_minutes",
    "approval_expiry_hours",
)
_POLICY_ID = 1  # OrganisationPolicy.current()'s one row


@functools.lru_cache(maxsize=4)
def _sql_and_select(vendor: str) -> tuple[str, Select]:
    """The one query and its named columns (names from model metadata, statuses parameters)."""
    scope, grant = table(Scope), table(ScopeGrant)
    expires = column(ScopeGrant, "expires_at", "g")
    # The scope is the catalogue's (resource, action) relation, never a parsed name.
    granted = (
        f"FROM {grant} g JOIN {scope} s "
        f"ON {column(Scope, 'id', 's')} = {column(ScopeGrant, 'scope', 'g')} "
        f"WHERE {column(ScopeGrant, 'agent', 'g')} = %s "
        f"AND {column(Scope, 'resource', 's')} = %s AND {column(Scope, 'action', 's')} = %s "
        f"AND {column(ScopeGrant, 'status', 'g')} = %s "
        f"AND ({expires} IS NULL OR {expires} > %s)"
    )
    items = [
        (
            "scope_id",
            f"(SELECT {column(Scope, 'id')} FROM {scope} "  # noqa: S608
            f"WHERE {column(Scope, 'resource')} = %s AND {column(Scope, 'action')} = %s)",
            None,
        ),
        ("granted", f"EXISTS (SELECT 1 {granted})", None),
        # When the grant found above lapses (NULL: never, or no grant): how long a cache may
        # keep "granted" without asking again.
        (
            "granted_until",
            f"(SELECT {expires} {granted} "
            f"ORDER BY ({expires} IS NULL) DESC, {expires} DESC LIMIT 1)",
            (ScopeGrant, "expires_at"),
        ),
        *[(f"c_{f}", column(Connection, f, "c"), (Connection, f)) for f in _CONNECTION_FIELDS],
        *[
            (f"p_{f}", column(OrganisationPolicy, f, "p"), (OrganisationPolicy, f))
            for f in _POLICY_FIELDS
        ],
    ]
    select = Select("ContextRow", items)
    sql = (
        f"SELECT {select.sql()} FROM (SELECT 1 AS one) AS base "  # noqa: S608
        f"LEFT JOIN {table(Connection)} c ON {column(Connection, 'agent', 'c')} = %s "
        f"AND {column(Connection, 'resource', 'c')} = %s "
        f"AND {column(Connection, 'status', 'c')} = %s "
        f"LEFT JOIN {table(OrganisationPolicy)} p ON {column(OrganisationPolicy, 'id', 'p')} = %s"
    )
    return sql, select


def decision_context(
    *, agent_id: int | None, resource_id: int, action: str, now: dt.datetime
) -> DecisionContext:
    """Scope of ``action`` on the resource known? granted? the connection, the organisation
    policy — one round trip."""
    sql, select = _sql_and_select(connection.vendor)
    stamp = connection.ops.adapt_datetimefield_value(now)
    agent = agent_id or 0
    active = ScopeGrant.Status.ACTIVE.value
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                resource_id,
                action,
                *(agent, resource_id, action, active, stamp),  # granted
                *(agent, resource_id, action, active, stamp),  # granted_until
                agent,
                resource_id,
                Connection.Status.ACTIVE.value,  # pending consent: as if not connected
                _POLICY_ID,
            ],
        )
        row = select.decode(cursor.fetchone())
    conn = None
    if row.c_id is not None:
        conn = ConnectionRow(
            pk=row.c_id,
            allowed_actions=_list(row.c_allowed_actions),
            rate_limit=row.c_rate_limit,
            rate_window_seconds=row.c_rate_window_seconds,
            budget_cap=row.c_budget_cap,
            budget_period=row.c_budget_period,
            trust_floor=row.c_trust_floor,
            log_only_rules=_list(row.c_log_only_rules),
            expires_at=row.c_expires_at,
        )
    if row.p_id is None:
        org = OrganisationPolicy.current()  # a fresh install: make the row once
        policy = PolicyRow(
            org.org_trust_floor,
            list(org.log_only_rules or []),
            org.approval_window_minutes,
            org.approval_expiry_hours,
        )
    else:
        policy = PolicyRow(
            row.p_org_trust_floor,
            _list(row.p_log_only_rules),
            row.p_approval_window_minutes,
            row.p_approval_expiry_hours,
        )
    return DecisionContext(
        scope_known=row.scope_id is not None,
        granted=bool(row.granted),
        connection=conn,
        policy=policy,
        granted_until=row.granted_until,
    )


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []
