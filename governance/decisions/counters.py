"""Rate-limit and budget counters shared by every server process, behind one interface.

``consume()`` checks a connection's rate window and budget period together and, when every
enforced rule passes, counts the request in both, atomically: two processes hammering one
connection with a limit of N get exactly N allows. A denied request counts nothing. Rules in
log-only mode are checked and reported ("would exceed") but never block, and the request is
counted as it would be under enforcement.

- ``RedisCounters``: one Lua script, so rate and budget cost one round trip and are atomic.
- ``DatabaseCounters``: rows locked with ``SELECT … FOR UPDATE`` (PostgreSQL) or under SQLite's
  IMMEDIATE write lock, inside the caller's transaction, so a rollback undoes the count too.

Rate limits use fixed windows aligned on the epoch (``window_seconds``); budgets use calendar
periods in UTC (hour, day, month). Budget amounts are exact integers of 1/10 000 cost unit.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import F

SCALE = 10_000  # budgets are counted in 1/10 000 of a cost unit (Connection.budget_cap has 4 dp)


@dataclass(frozen=True)
class Limits:
    """The limits of one connection, and which of them are enforced."""

    connection_id: int
    rate_limit: int | None
    window_seconds: int
    budget_cap: Decimal | None
    budget_period: str
    enforce_rate: bool = True
    enforce_budget: bool = True


@dataclass(frozen=True)
class Usage:
    """What ``consume()`` found: whether it counted, what was exceeded, what remains."""

    consumed: bool
    rate_exceeded: bool
    budget_exceeded: bool
    rate_remaining: int | None
    budget_remaining: Decimal | None


def to_units(amount: Decimal) -> int:
    return int((amount * SCALE).to_integral_value())


def from_units(units: int) -> Decimal:
    return (Decimal(units) / SCALE).quantize(Decimal("0.0001"))


def period_bounds(period: str, now: dt.datetime) -> tuple[str, dt.datetime]:
    """The key of the budget period containing ``now`` (UTC) and the moment it ends."""
    now = now.astimezone(dt.UTC)
    if period == "hour":
        start = now.replace(minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%dT%H"), start + dt.timedelta(hours=1)
    if period == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%d"), start + dt.timedelta(days=1)
    if period == "month":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return start.strftime("%Y-%m"), nxt
    raise ValueError(f"unknown budget period {period!r}")


@dataclass(frozen=True)
class _Keys:
    rate: str
    rate_ttl: int
    rate_expires: dt.datetime
    budget: str
    budget_ttl: int
    budget_expires: dt.datetime


@functools.lru_cache(maxsize=256)
def _period(period: str, hour: int) -> tuple[str, float, dt.datetime]:
    """``period_bounds`` for any moment in the UTC hour ``hour`` (hours since the UNIX epoch):
    every budget period starts on an hour, so one computation serves the whole hour."""
    key, end = period_bounds(period, dt.datetime.fromtimestamp(hour * 3600, tz=dt.UTC))
    return key, end.timestamp(), end


def _keys(prefix: str, limits: Limits, now: dt.datetime) -> _Keys:
    ts = now.timestamp()
    window = limits.window_seconds
    bucket = int(ts // window)
    rate_end = (bucket + 1) * window
    period_key, period_end, period_end_dt = _period(limits.budget_period, int(ts // 3600))
    cid = limits.connection_id
    return _Keys(
        rate=f"{prefix}:rate:{cid}:{window}:{bucket}",
        rate_ttl=max(1, int(rate_end - ts) + 60),
        rate_expires=dt.datetime.fromtimestamp(rate_end + 60, tz=dt.UTC),
        budget=f"{prefix}:budget:{cid}:{limits.budget_period}:{period_key}",
        budget_ttl=max(1, int(period_end - ts) + 3600),
        budget_expires=period_end_dt + dt.timedelta(hours=1),
    )


def _usage(limits: Limits, consumed: bool, used: int, spent: int, cost: int) -> Usage:
    rate_exceeded = limits.rate_limit is not None and used + (0 if consumed else 1) > (
        limits.rate_limit
    )
    budget_exceeded = limits.budget_cap is not None and spent + (0 if consumed else cost) > (
        to_units(limits.budget_cap)
    )
    return Usage(
        consumed=consumed,
        rate_exceeded=rate_exceeded,
        budget_exceeded=budget_exceeded,
        rate_remaining=None if limits.rate_limit is None else max(0, limits.rate_limit - used),
        budget_remaining=None
        if limits.budget_cap is None
        else from_units(max(0, to_units(limits.budget_cap) - spent)),
    )


class Counters(Protocol):
    def consume(
        self, *, limits: Limits, cost: Decimal, now: dt.datetime, dry_run: bool = False
    ) -> Usage:
        """Check both limits and, unless an enforced one is exceeded or ``dry_run``, count."""

    def refund(self, *, limits: Limits, cost: Decimal, now: dt.datetime) -> None:
        """Undo one ``consume()`` that counted (the decision it belonged to was not recorded)."""


# KEYS: rate key, budget key.  ARGV: limit (-1: none), rate ttl, enforce rate, cap units (-1),
# cost units, budget ttl, enforce budget, dry run.  Returns {consumed, used, spent}.
_CONSUME_LUA = """
local limit = tonumber(ARGV[1])
local cap = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local used = 0
local spent = 0
if limit >= 0 then used = tonumber(redis.call('GET', KEYS[1]) or '0') end
if cap >= 0 then spent = tonumber(redis.call('GET', KEYS[2]) or '0') end
local rate_over = limit >= 0 and used + 1 > limit
local budget_over = cap >= 0 and spent + cost > cap
if ARGV[8] == '1' or (rate_over and ARGV[3] == '1') or (budget_over and ARGV[7] == '1') then
  return {0, used, spent}
end
if limit >= 0 then
  used = redis.call('INCR', KEYS[1])
  if used == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
end
if cap >= 0 and cost > 0 then
  spent = redis.call('INCRBY', KEYS[2], cost)
  if spent == cost then redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6])) end
end
return {1, used, spent}
"""

_REFUND_LUA = """
if tonumber(ARGV[1]) > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DECR', KEYS[1])
end
if tonumber(ARGV[2]) > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('DECRBY', KEYS[2], ARGV[2])
end
return 1
"""


class RedisCounters:
    """Counters in Redis: one script call per decision."""

    transactional = False  # the caller refunds a count whose decision was not recorded

    def __init__(self, url: str, prefix: str = "gov:ctr") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        self._consume = self.client.register_script(_CONSUME_LUA)
        self._refund = self.client.register_script(_REFUND_LUA)
        self._local = threading.local()

    def _connection(self):
        """This thread's own connection (made like the pool's): a decision holds it for one
        round trip, so there is nothing to share, and no pool bookkeeping per call."""
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.pid != os.getpid():  # first use in this thread, or a fork
            pool = self.client.connection_pool
            conn = self._local.conn = pool.connection_class(**pool.connection_kwargs)
        return conn

    def _call(self, script, keys: list[str], args: list[int]):
        """``EVALSHA`` on this thread's connection: one round trip, without redis-py's
        per-command machinery, and never re-sent after a connection error or timeout (the
        script may have counted; the decision then fails closed, 503, and is not charged
        twice). Loads the script once if the server does not know it (a restart, a flush)."""
        from redis.exceptions import ConnectionError, NoScriptError, TimeoutError

        conn = self._connection()
        try:
            # As the pool checks before lending a connection: data left over, or a socket the
            # server closed (a restart), means start afresh, before anything is sent.
            if conn.can_read():
                conn.disconnect()
        except (ConnectionError, TimeoutError, OSError):
            conn.disconnect()
        try:
            conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return conn.read_response()
        except NoScriptError:
            return script(keys=keys, args=args)  # loads it, then runs it
        except BaseException:
            conn.disconnect()  # a reply may be left half read: never reuse the socket
            raise

    def consume(
        self, *, limits: Limits, cost: Decimal, now: dt.datetime, dry_run: bool = False
    ) -> Usage:
        keys = _keys(self.prefix, limits, now)
        units = to_units(cost)
        consumed, used, spent = self._call(
            self._consume,
            [keys.rate, keys.budget],
            [
                -1 if limits.rate_limit is None else limits.rate_limit,
                keys.rate_ttl,
                int(limits.enforce_rate),
                -1 if limits.budget_cap is None else to_units(limits.budget_cap),
                units,
                keys.budget_ttl,
                int(limits.enforce_budget),
                int(dry_run),
            ],
        )
        return _usage(limits, bool(consumed), int(used), int(spent), units)

    def refund(self, *, limits: Limits, cost: Decimal, now: dt.datetime) -> None:
        keys = _keys(self.prefix, limits, now)
        self._refund(
            keys=[keys.rate, keys.budget],
            args=[
                0 if limits.rate_limit is None else 1,
                0 if limits.budget_cap is None else to_units(cost),
            ],
        )


class DatabaseCounters:
    """Counters in the ``decisions.Counter`` table, row-locked in the caller's transaction."""

    transactional = True  # a rollback of the caller's transaction undoes the count

    def __init__(self, prefix: str = "gov:ctr") -> None:
        self.prefix = prefix

    def consume(
        self, *, limits: Limits, cost: Decimal, now: dt.datetime, dry_run: bool = False
    ) -> Usage:
        from .models import Counter

        keys = _keys(self.prefix, limits, now)
        units = to_units(cost)
        wanted = {}
        if limits.rate_limit is not None:
            wanted[keys.rate] = keys.rate_expires
        if limits.budget_cap is not None:
            wanted[keys.budget] = keys.budget_expires
        if not wanted:
            return _usage(limits, not dry_run, 0, 0, units)
        with transaction.atomic():
            if dry_run:
                values = dict(Counter.objects.filter(key__in=wanted).values_list("key", "value"))
            else:
                # Create missing rows first (a conflict means another process did), then lock
                # them in key order so two decisions never wait on each other crosswise.
                Counter.objects.bulk_create(
                    [Counter(key=k, value=0, expires_at=e) for k, e in wanted.items()],
                    ignore_conflicts=True,
                )
                values = dict(
                    Counter.objects.select_for_update()
                    .filter(key__in=wanted)
                    .order_by("key")
                    .values_list("key", "value")
                )
            used, spent = values.get(keys.rate, 0), values.get(keys.budget, 0)
            probe = _usage(limits, False, used, spent, units)
            blocked = (probe.rate_exceeded and limits.enforce_rate) or (
                probe.budget_exceeded and limits.enforce_budget
            )
            if dry_run or blocked:
                return probe
            if limits.rate_limit is not None:
                Counter.objects.filter(key=keys.rate).update(value=F("value") + 1)
                used += 1
            if limits.budget_cap is not None and units:
                Counter.objects.filter(key=keys.budget).update(value=F("value") + units)
                spent += units
        return _usage(limits, True, used, spent, units)

    def refund(self, *, limits: Limits, cost: Decimal, now: dt.datetime) -> None:
        from .models import Counter

        keys = _keys(self.prefix, limits, now)
        with transaction.atomic():
            if limits.rate_limit is not None:
                Counter.objects.filter(key=keys.rate).update(value=F("value") - 1)
            if limits.budget_cap is not None and to_units(cost):
                Counter.objects.filter(key=keys.budget).update(value=F("value") - to_units(cost))


@functools.cache
def _build(backend: str, url: str, prefix: str) -> Counters:
    if backend == "redis":
        if not url:
            raise RuntimeError("RATE_LIMIT_BACKEND is redis but REDIS_URL is not set")
        return RedisCounters(url, prefix=prefix)
    if backend == "database":
        return DatabaseCounters(prefix=prefix)
    raise RuntimeError(f"unknown RATE_LIMIT_BACKEND {backend!r}")


def get_counters() -> Counters:
    """The process's counter backend, chosen by ``settings.RATE_LIMIT_BACKEND``."""
    # RATE_LIMIT_PREFIX separates deployments, or tests, sharing one Redis.
    return _build(settings.RATE_LIMIT_BACKEND, settings.REDIS_URL, settings.RATE_LIMIT_PREFIX)


def counters_sweep(*, now: dt.datetime | None = None) -> int:
    """Delete database counters whose window or period has ended; safe to re-run."""
    from django.utils import timezone

    from .models import Counter

    deleted, _ = Counter.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
