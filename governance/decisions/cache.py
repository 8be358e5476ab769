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

Time is the one thing triggers cannot see, so every entry carries ``valid_until``: the earliest
moment at which time alone could change it (token expiry, credential expiry, run deadline,
grant expiry). Only active token checks are cached; denials are recomputed.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.db import connection

from agents.models import WorkflowRun
from credentials.models import Credential

from .models import Epoch

# How many triggers migration 0002_epoch creates, per vendor (9 tables).
_TRIGGERS = {"postgresql": 9, "sqlite": 27}
_MAX_ENTRIES = 4096
_FAR = float("inf")


@functools.lru_cache(maxsize=4)
def _triggers_sql(vendor: str) -> tuple[str, str] | None:
    """(SQL, name pattern): how many of our epoch triggers exist and are enabled."""
    if vendor == "postgresql":
        sql = "SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s AND tgenabled <> 'D'"
        return sql, "decisions\\_epoch\\_%"
    if vendor == "sqlite":
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s"
        return sql, "decisions_epoch_%"
    return None


def _epoch_table() -> str:
    return connection.ops.quote_name(Epoch._meta.db_table)


_hint: int | None = None  # the epoch this process saw last (a guess until a guarded write)


def current_epoch() -> int | None:
    """The revocation epoch, or None when nothing may be cached (see the module docstring)."""
    global _hint
    if connection.in_atomic_block:
        return None
    triggers_sql = _triggers_sql(connection.vendor)
    if triggers_sql is None:
        return None
    sql = f"SELECT (SELECT value FROM {_epoch_table()} WHERE id = 1), ({triggers_sql[0]})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [triggers_sql[1]])
        value, triggers = cursor.fetchone()
    if value is None or triggers != _TRIGGERS[connection.vendor]:
        _hint = None
        return None
    _hint = int(value)
    return _hint


def epoch_hint() -> int | None:
    """The epoch last seen, to decide from the cache BEFORE reading the epoch; such a decision
    is written only if the epoch still holds at its audit INSERT (``epoch_guard``)."""
    if connection.in_atomic_block or _triggers_sql(connection.vendor) is None:
        return None
    return _hint


def forget_hint() -> None:
    global _hint
    _hint = None


def epoch_guard(epoch: int) -> tuple[str, list]:
    """An SQL condition (for ``audit.record_row(only_if=…)``): the epoch is still ``epoch``
    and every trigger is still in place — checked in the same statement as the write."""
    triggers, pattern = _triggers_sql(connection.vendor)
    return (
        f"(SELECT value FROM {_epoch_table()} WHERE id = 1) = %s AND ({triggers}) = %s",  # noqa: S608
        [epoch, pattern, _TRIGGERS[connection.vendor]],
    )


@dataclass(frozen=True)
class _Entry:
    epoch: int
    valid_until: float  # a UNIX timestamp; the entry is not used at or after it
    value: Any


class EpochCache:
    """A bounded, thread-safe map whose entries are used only at their epoch and in time."""

    def __init__(self, max_entries: int = _MAX_ENTRIES) -> None:
        self._data: OrderedDict[Any, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: Any, epoch: int | None, now: float) -> Any | None:
        if epoch is None:
            return None
        entry = self._data.get(key)
        if entry is None or entry.epoch != epoch or now >= entry.valid_until:
            return None
        return entry.value

    def put(self, key: Any, epoch: int | None, valid_until: float, value: Any) -> None:
        if epoch is None:
            return
        with self._lock:
            self._data[key] = _Entry(epoch, valid_until, value)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


token_checks = EpochCache()  # (token, audience) -> (TokenCheck, effective trust)
contexts = EpochCache()  # (agent id, resource id, scope name) -> DecisionContext
callers = EpochCache()  # SHA-256 of a resource server's Basic header -> its Resource


def _timestamp(value: Any) -> float:
    if value is None:
        return _FAR
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # SQLite stores UTC without an offset
    return value.timestamp()


def token_valid_until(*, exp: Any, leeway: int, credential_ids: list[str], run: str) -> float:
    """When time alone ends an active token check: its exp, a credential's or the run's end."""
    until = float(exp) + leeway if isinstance(exp, int | float) else 0.0
    q = connection.ops.quote_name
    parts, params = [], []
    if credential_ids:
        marks = ", ".join(["%s"] * len(credential_ids))
        parts.append(
            f"SELECT {q('expires_at')} FROM {q(Credential._meta.db_table)} "  # noqa: S608
            f"WHERE {q('id')} IN ({marks}) AND {q('expires_at')} IS NOT NULL"
        )
        params += credential_ids
    if run:
        parts.append(
            f"SELECT {q('deadline')} FROM {q(WorkflowRun._meta.db_table)} "  # noqa: S608
            f"WHERE {q('run_id')} = %s AND {q('deadline')} IS NOT NULL"
        )
        params.append(run)
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for (moment,) in cursor.fetchall():
                until = min(until, _timestamp(moment))
    return until


def now_ts() -> float:
    return time.time()


def clear() -> None:
    """Forget everything (tests; never needed for correctness)."""
    forget_hint()
    token_checks.clear()
    contexts.clear()
    callers.clear()
