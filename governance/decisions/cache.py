"""Per-process caches of the decision point, valid only while the revocation epoch is unchanged.

Every decision reads ``decisions_epoch`` first (one small query). Database triggers (migration
``0002_epoch``) give it a new random value on every insert, update or delete of the rows a
decision reads: agents (status, trust), credentials, revoked tokens, workflow runs, scopes,
grants, connections, resources, the organisation policy. The new value becomes visible in the
same commit as the change, so the first decision that can see a suspension or revocation also
sees a new epoch and reloads: no process can serve a cached answer past it. Writes through the
ORM, ``QuerySet.update()``, raw SQL or another program are all covered.

Fail safe: nothing is cached (every decision reads everything, as before) when the epoch row is
missing, when any trigger is missing or disabled (e.g. dropped by a table rebuild), when the
database has no triggers (not PostgreSQL or SQLite), or inside a transaction (on PostgreSQL the
triggers run at commit, so a transaction's own writes would not have changed the epoch yet).
The triggers are counted with every read of the epoch, and the epoch a process last read (its
hint, which lets a warm decision skip that read) is trusted for at most ``HINT_SECONDS``: a
trigger dropped behind our back stops all caching within that time, while the guard on each
write stays one indexed lookup.

Time is the one thing triggers cannot see, so every entry carries ``valid_until``: the earliest
moment at which time alone could change it (token expiry, credential expiry, run deadline,
grant expiry). Only active token checks are cached; denials are recomputed.

The caches here, the hint and the plans are entered in ``credentials.process_caches``: its
``forget_all()`` empties them, ``PROCESS_CACHES=off`` makes ``current_epoch()`` answer None
(so nothing is cached anywhere that relies on the epoch), and its clock is the one they read.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection

from agents.models import WorkflowRun
from credentials import process_caches
from credentials.epoch import EpochCache
from credentials.models import Credential
from credentials.rows import column, decoded, table

from . import triggers
from .models import Epoch

EPOCH_ROW = 1  # the one row of decisions_epoch (the triggers write id 1)

HINT_SECONDS = 1.0


@functools.lru_cache(maxsize=4)
def _triggers_sql(vendor: str) -> tuple[str, str] | None:
    """(SQL, name pattern): how many of our epoch triggers exist and are enabled (which
    columns they watch is ``triggers.drift``'s job, a system check: too slow for every read)."""
    if vendor == "postgresql":
        sql = "SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s AND tgenabled <> 'D'"
        return sql, triggers.PREFIX.replace("_", "\\_") + "%"
    if vendor == "sqlite":
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s"
        return sql, triggers.PREFIX + "%"
    return None


@functools.lru_cache(maxsize=4)
def _epoch_value_sql(vendor: str) -> str:
    """The epoch's value, from its one row (names from the model)."""
    return (
        f"SELECT {column(Epoch, 'value')} FROM {table(Epoch)} "  # noqa: S608
        f"WHERE {column(Epoch, 'id')} = {EPOCH_ROW}"
    )


# The epoch this process read last and when (a guess until a guarded write; see HINT_SECONDS).
_hint: tuple[int, float] | None = None


def current_epoch() -> int | None:
    """The revocation epoch, or None when nothing may be cached (see the module docstring)."""
    global _hint
    if connection.in_atomic_block or not process_caches.enabled():
        return None
    triggers_sql = _triggers_sql(connection.vendor)
    if triggers_sql is None:
        return None
    sql = f"SELECT ({_epoch_value_sql(connection.vendor)}), ({triggers_sql[0]})"
    with connection.cursor() as cursor:
        cursor.execute(sql, [triggers_sql[1]])
        value, installed = cursor.fetchone()
    if value is None or installed != triggers.trigger_count(connection.vendor):
        _hint = None
        return None
    _hint = (int(value), process_caches.monotonic())
    return _hint[0]


def epoch_hint() -> int | None:
    """The epoch last seen, to decide from the cache BEFORE reading the epoch; such a decision
    is written only if the epoch still holds at its audit INSERT (``epoch_guard``)."""
    hint = _hint
    if hint is None or connection.in_atomic_block or _triggers_sql(connection.vendor) is None:
        return None
    return hint[0] if process_caches.monotonic() - hint[1] < HINT_SECONDS else None


def forget_hint() -> None:
    global _hint
    _hint = None


process_caches.register("decisions.epoch_hint", forget_hint)


def epoch_guard(epoch: int) -> tuple[str, list]:
    """An SQL condition (for ``audit.record_row(only_if=…)``): the epoch is still ``epoch``,
    checked in the same statement as the write (the triggers are checked where it is read)."""
    return f"({_epoch_value_sql(connection.vendor)}) = %s", [epoch]


# (token, audience) -> (TokenCheck, effective trust)
token_checks = EpochCache("decisions.token_checks")
# (agent id, resource id, scope name) -> DecisionContext
contexts = EpochCache("decisions.contexts")


def token_valid_until(*, exp: Any, leeway: int, credential_ids: list[str], run: str) -> float:
    """When time alone ends an active token check: its exp, a credential's or the run's end."""
    until = float(exp) + leeway if isinstance(exp, int | float) else 0.0
    for moment in _ends(credential_ids, run):
        until = min(until, moment.timestamp())
    return until


def _ends(credential_ids: list[str], run: str) -> list[Any]:
    """The expiries of these credentials and the run's deadline that are set (one query)."""
    parts, params, fields = [], [], []
    if credential_ids:
        expires = column(Credential, "expires_at")
        marks = ", ".join(["%s"] * len(credential_ids))
        parts.append(
            f"SELECT {expires} FROM {table(Credential)} "  # noqa: S608
            f"WHERE {column(Credential, 'id')} IN ({marks}) AND {expires} IS NOT NULL"
        )
        params += credential_ids
        fields.append((Credential, "expires_at"))
    if run:
        deadline = column(WorkflowRun, "deadline")
        parts.append(
            f"SELECT {deadline} FROM {table(WorkflowRun)} "  # noqa: S608
            f"WHERE {column(WorkflowRun, 'run_id')} = %s AND {deadline} IS NOT NULL"
        )
        params.append(run)
        fields.append((WorkflowRun, "deadline"))
    if not parts:
        return []
    # Both columns are datetimes: either field's converters read either (SQLite: text).
    model, field = fields[0]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return [decoded(model, field, moment) for (moment,) in cursor.fetchall()]
