"""Per-process caches that are trusted only while the revocation epoch holds.

The revocation epoch is a value the database changes, in the committing transaction, on every
write that could revoke something: an agent's status or trust, a credential, a revoked token,
a run, a grant, a connection, a resource, the organisation policy. The decision point owns the
table and its triggers (``governance.decisions.cache``) and plugs itself in here at start-up
(``use_source``), so this app can use the epoch without importing the layer above it. With no
source plugged in, nothing is cached.

A cached answer is only ever used to *accept*, and only under a guard: the request's single
write (its audit entry) carries ``guard(epoch)``, an SQL condition that the epoch is still the
one the answer was cached at. If the epoch moved, nothing is written and the request is
decided again from the database. Refusals are never served from a cache.

Every ``EpochCache`` is entered in ``process_caches`` under its name (``forget_all()``,
``PROCESS_CACHES=off``); entries lapse by ``process_caches.time()``, the injectable clock.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from . import process_caches

_MAX_ENTRIES = 4096


class EpochSource(Protocol):
    def current_epoch(self) -> int | None:
        """Read the epoch now (one query); None when nothing may be cached."""

    def epoch_hint(self) -> int | None:
        """The epoch this process saw last, without a query; None when nothing may be cached."""

    def forget_hint(self) -> None:
        """A guarded write failed: the hint is stale."""

    def epoch_guard(self, epoch: int) -> tuple[str, list]:
        """An SQL condition and its parameters: the epoch is still ``epoch``."""


_source: EpochSource | None = None


def use_source(source: EpochSource | None) -> None:
    global _source
    _source = source


def current() -> int | None:
    return _source.current_epoch() if _source is not None else None


def hint() -> int | None:
    return _source.epoch_hint() if _source is not None else None


def known() -> int | None:
    """The hint, or (when it is stale or absent) the epoch read now."""
    value = hint()
    return value if value is not None else current()


def forget_hint() -> None:
    if _source is not None:
        _source.forget_hint()


def guard(epoch: int) -> tuple[str, list]:
    assert _source is not None, "an epoch was handed out, so a source is plugged in"
    return _source.epoch_guard(epoch)


@dataclass(frozen=True)
class _Entry:
    epoch: int
    valid_until: float  # a UNIX timestamp; the entry is not used at or after it
    value: Any


class EpochCache:
    """A bounded, thread-safe map whose entries are used only at their epoch and in time.

    ``name`` enters it in the registry of process caches. With no epoch (caches off, no
    trigger, inside a transaction) it neither answers nor keeps anything.
    """

    def __init__(self, name: str, max_entries: int = _MAX_ENTRIES) -> None:
        self._data: OrderedDict[Any, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self.name = name
        process_caches.register(name, self.clear)

    def get(self, key: Any, epoch: int | None, now: float) -> Any | None:
        """The value kept for ``key`` at ``epoch`` if ``now`` (``process_caches.time()``) is
        before its ``valid_until``; else None."""
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


def timestamp(value: Any) -> float:
    """A datetime column's value (a string on SQLite, UTC) as a UNIX timestamp; None: never."""
    if value is None:
        return float("inf")
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()
