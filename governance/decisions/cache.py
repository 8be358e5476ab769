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
def _epoch_sql(vendor: str) -> tuple[str, str] | None:
    """(SQL, trigger-name pattern): the epoch and how many of our triggers are enabled."""
    table = connection.ops.quote_name(Epoch._meta.db_table)
    if vendor == "postgresql":
        triggers = "SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s AND tgenabled <> 'D'"
        pattern = "decisions\\_epoch\\_%"
    elif vendor == "sqlite":
        triggers = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s"
        pattern = "decisions_epoch_%"
    else:
        return None
    return f"SELECT (SELECT value FROM {table} WHERE id = 1), ({triggers})", pattern  # noqa: S608


def current_epoch() -> int | None:
    """The revocation epoch, or None when nothing may be cached (see the module docstring)."""
    if connection.in_atomic_block:
        return None
    query = _epoch_sql(connection.vendor)
    if query is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(query[0], [query[1]])
        value, triggers = cursor.fetchone()
    if value is None or triggers != _TRIGGERS[connection.vendor]:
        return None
    return int(value)


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
    token_checks.clear()
    contexts.clear()
