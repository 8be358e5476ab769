"""Every per-process cache of the fast paths: one registry, one switch, one clock.

The token endpoint, ``check_access_token`` and the decision point keep what they read in the
memory of each server process (see ``docs/oauth.md`` and ``docs/decisions.md``). Each of those
caches registers here how to forget it, so that:

* ``forget_all()`` empties every one of them (tests, a shell after a manual repair);
* ``PROCESS_CACHES = False`` (environment ``PROCESS_CACHES=off``) turns every one off: each
  request then reads everything from the database, as if every process were cold. Use it to
  rule the caches out when debugging; the suite runs once with it off (``bin/test``);
* they all read time from one clock (``time()``, ``monotonic()``, ``now()``), which a test
  replaces (``use_clock``) to move time forward instead of sleeping until an entry lapses.

What counts as a process cache: anything kept across requests that was read from the database
or depends on time. Memos of pure functions of code or of immutable input (compiled SQL text,
a parsed JWK, budget period bounds) are not state and are not registered.

It lives in ``credentials``, the rightmost app with such a cache (``agents`` and ``audit`` have
none), so that both ``credentials`` and ``governance`` can register with it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time as _time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the UNIX epoch (wall clock)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for "how long ago")."""


class SystemClock:
    """The real clock."""

    time = staticmethod(_time.time)
    monotonic = staticmethod(_time.monotonic)


_clock: Clock = SystemClock()


def use_clock(clock: Clock | None) -> None:
    """Read time from ``clock`` from now on (``None``: the system clock again). Tests only."""
    global _clock
    _clock = clock if clock is not None else SystemClock()


def time() -> float:
    """The wall clock of the caches and of the moment live state is judged at."""
    return _clock.time()


def monotonic() -> float:
    return _clock.monotonic()


def now() -> dt.datetime:
    """``time()`` as an aware UTC datetime (what ``timezone.now()`` gives on the real clock)."""
    return dt.datetime.fromtimestamp(_clock.time(), tz=dt.UTC)


_lock = threading.Lock()
_forgetters: dict[str, Callable[[], None]] = {}
_enabled: bool | None = None  # None: not read from the settings yet


def register(name: str, forget: Callable[[], None]) -> None:
    """Enter a cache in the registry: ``forget()`` must empty it. A name is registered once."""
    with _lock:
        if name in _forgetters and _forgetters[name] is not forget:
            raise ValueError(f"a process cache named {name!r} is already registered")
        _forgetters[name] = forget


def registered() -> list[str]:
    return sorted(_forgetters)


def forget_all() -> None:
    """Empty every registered cache (never needed for correctness: they are epoch-guarded)."""
    for forget in list(_forgetters.values()):
        forget()


def forget(*names: str) -> None:
    """Empty the named caches only (a benchmark's cold path); ``KeyError`` for an unknown name."""
    for name in names:
        _forgetters[name]()


def enabled() -> bool:
    """False when ``settings.PROCESS_CACHES`` turns every per-process cache off."""
    global _enabled
    if _enabled is None:
        from django.conf import settings

        _enabled = bool(settings.PROCESS_CACHES)
    return _enabled


def _settings_changed(*, setting: str, **kwargs: object) -> None:
    """``override_settings(PROCESS_CACHES=…)`` takes effect at once, from an empty cache."""
    global _enabled
    if setting == "PROCESS_CACHES":
        _enabled = None
        forget_all()


def connect_signals() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_settings_changed, dispatch_uid="credentials.process_caches")
