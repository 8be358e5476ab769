"""The aggregator's two set-based statements, and a multi-row upsert, on PostgreSQL and SQLite.

A batch of the audit log is folded by ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE``:
the database groups the entries, resolves ``agent:<slug>`` to the agent's id by a join, and adds
the counts to the existing rows, so no entry travels to Python. Only table and column names
from model metadata, the audit outcomes' enum constants and ``%s`` placeholders are put into
the SQL text; the few differences of
dialect (hour truncation, JSON access, least/greatest of nullable values) are chosen by vendor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection
from django.db.models import Model

from agents.models import Agent
from audit.models import AuditEntry
from credentials.sql import literal

from .models import UsageHour, UsageTotal

COUNTERS = ("allowed", "denied", "pending", "issued", "refused", "auth_failed")
ISSUED = ("token.issue", "token.exchange", "token.delegate")
KEY = ("resource", "action", "credential_id")
Outcome = AuditEntry.Outcome
OK, DENIED, PENDING, FAILED = (
    literal(o) for o in (Outcome.SUCCESS, Outcome.DENIED, Outcome.PENDING, Outcome.FAILURE)
)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _dialect() -> dict[str, str]:
    if connection.vendor == "postgresql":
        return {
            "hour": "date_trunc('hour', e.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
            "asked": "context ->> 'requested_action'",
        }
    return {
        # Django stores SQLite datetimes as text, UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]".
        "hour": "strftime('%%Y-%%m-%%d %%H:00:00', e.created_at)",
        "asked": "json_extract(context, '$.requested_action')",
    }


def _events(after: int, upto: int) -> tuple[str, list]:
    """The usage entries of ``(after, upto]``, each with its agent's slug and its key columns."""
    issued = ", ".join(["%s"] * len(ISSUED))
    sql = f"""
        SELECT created_at, action, outcome,
            CASE WHEN action = 'client.authenticate' THEN substr(resource, 8)
                 ELSE substr(actor, 7) END AS slug,
            CASE WHEN action = 'decision' THEN substr(resource, 1, 64) ELSE '' END AS k_resource,
            CASE WHEN action = 'decision'
                 THEN substr(COALESCE({_dialect()["asked"]}, ''), 1, 128) ELSE '' END AS k_action,
            CASE WHEN length(credential_id) <= 32 THEN credential_id ELSE '' END AS k_credential
        FROM {_q(AuditEntry._meta.db_table)}
        WHERE seq > %s AND seq <= %s AND (
            (action = 'decision' AND outcome IN ({OK}, {DENIED}, {PENDING})
                AND actor LIKE 'agent:%%')
            OR (action IN ({issued}) AND outcome = {OK} AND actor LIKE 'agent:%%')
            OR (action = 'token.refuse' AND actor LIKE 'agent:%%')
            OR (action = 'client.authenticate' AND outcome = {FAILED}
                AND resource LIKE 'client:%%')
        )
    """  # noqa: S608 (names from model metadata, values as parameters)
    return sql, [after, upto, *ISSUED]


def _counts() -> tuple[str, list]:
    issued = ", ".join(["%s"] * len(ISSUED))
    sql = f"""
        SUM(CASE WHEN e.action = 'decision' AND e.outcome = {OK} THEN 1 ELSE 0 END),
        SUM(CASE WHEN e.action = 'decision' AND e.outcome = {DENIED} THEN 1 ELSE 0 END),
        SUM(CASE WHEN e.action = 'decision' AND e.outcome = {PENDING} THEN 1 ELSE 0 END),
        SUM(CASE WHEN e.action IN ({issued}) THEN 1 ELSE 0 END),
        SUM(CASE WHEN e.action = 'token.refuse' THEN 1 ELSE 0 END),
        SUM(CASE WHEN e.action = 'client.authenticate' THEN 1 ELSE 0 END)
    """
    return sql, list(ISSUED)


def fold_hours(after: int, upto: int) -> int:
    """Add the batch's events to the hourly counters; returns the rows written."""
    events, event_params = _events(after, upto)
    counts, count_params = _counts()
    table = _q(UsageHour._meta.db_table)
    columns = ", ".join(_q(c) for c in ("hour", "agent_id", *KEY, *COUNTERS))
    conflict = ", ".join(_q(c) for c in ("agent_id", "hour", *KEY))
    adds = ", ".join(f"{_q(c)} = {table}.{_q(c)} + excluded.{_q(c)}" for c in COUNTERS)
    # "WHERE true": SQLite's parser needs it to read the ON CONFLICT after a join.
    sql = f"""
        INSERT INTO {table} ({columns})
        SELECT {_dialect()["hour"]}, a.id, e.k_resource, e.k_action, e.k_credential, {counts}
        FROM ({events}) e JOIN {_q(Agent._meta.db_table)} a ON a.slug = e.slug
        WHERE true
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT ({conflict}) DO UPDATE SET {adds}
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*count_params, *event_params])
        return cursor.rowcount


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if connection.vendor == "postgresql" else f"MIN({a}, {b})"


def _greatest_nullable(a: str, b: str) -> str:
    if connection.vendor == "postgresql":
        return f"GREATEST({a}, {b})"  # NULLs ignored
    return f"MAX(COALESCE({a}, {b}), COALESCE({b}, {a}))"


def fold_totals(after: int, upto: int) -> int:
    """Move the totals' first, last and last-used times by the batch's events."""
    events, event_params = _events(after, upto)
    issued = ", ".join(["%s"] * len(ISSUED))
    table = _q(UsageTotal._meta.db_table)
    columns = ", ".join(_q(c) for c in ("agent_id", *KEY, "first_at", "last_at", "last_used_at"))
    conflict = ", ".join(_q(c) for c in ("agent_id", *KEY))
    mine, theirs = f"{table}.{_q('first_at')}", f"excluded.{_q('first_at')}"
    first = f"{_q('first_at')} = {_least(mine, theirs)}"
    mine, theirs = f"{table}.{_q('last_at')}", f"excluded.{_q('last_at')}"
    last = f"{_q('last_at')} = {_greatest_nullable(mine, theirs)}"
    mine, theirs = f"{table}.{_q('last_used_at')}", f"excluded.{_q('last_used_at')}"
    used = f"{_q('last_used_at')} = {_greatest_nullable(mine, theirs)}"
    sql = f"""
        INSERT INTO {table} ({columns})
        SELECT a.id, e.k_resource, e.k_action, e.k_credential,
            MIN(e.created_at), MAX(e.created_at),
            MAX(CASE WHEN (e.action = 'decision' AND e.outcome = {OK})
                       OR e.action IN ({issued}) THEN e.created_at END)
        FROM ({events}) e JOIN {_q(Agent._meta.db_table)} a ON a.slug = e.slug
        WHERE true
        GROUP BY 1, 2, 3, 4
        ON CONFLICT ({conflict}) DO UPDATE SET {first}, {last}, {used}
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ISSUED, *event_params])
        return cursor.rowcount


def upsert(model: type[Model], columns: Sequence[str], key: Sequence[str], rows: list[tuple]):
    """Insert ``rows`` or overwrite the non-key columns of those already there (no ``key``:
    insert only).

    PostgreSQL: one statement over ``json_to_recordset`` of one JSON parameter (Django's
    client-side binding quotes a multi-row VALUES list or arrays element by element in Python,
    which cost more than the database's work). SQLite: ``executemany`` of the one-row statement.
    """
    if not rows:
        return
    names = ", ".join(_q(c) for c in columns)
    sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in columns if c not in key)
    tail = f"ON CONFLICT ({', '.join(_q(c) for c in key)}) DO UPDATE SET {sets}" if key else ""
    table = _q(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = ", ".join(
                f"{_q(c)} {model._meta.get_field(c).db_type(connection)}" for c in columns
            )
            records = json.dumps([dict(zip(columns, row, strict=True)) for row in rows])
            statement = (
                f"INSERT INTO {table} ({names}) "  # noqa: S608
                f"SELECT {names} FROM json_to_recordset(%s::json) AS r({types}) "
            )
            cursor.execute(statement + tail, [records])
        else:
            one = ", ".join(["%s"] * len(columns))
            statement = f"INSERT INTO {table} ({names}) VALUES ({one}) "  # noqa: S608
            cursor.executemany(statement + tail, rows)
