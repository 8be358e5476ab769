"""Shared counters: exact under concurrency, per window and period, nothing counted on deny."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from governance.decisions.counters import (
    DatabaseCounters,
    Limits,
    RedisCounters,
    counters_sweep,
    period_bounds,
)
from governance.decisions.models import Counter

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 1, 31, 23, 59, 30, tzinfo=dt.UTC)


def _limits(**kw) -> Limits:
    base = dict(
        connection_id=7,
        rate_limit=3,
        window_seconds=60,
        budget_cap=Decimal("10"),
        budget_period="day",
    )
    base.update(kw)
    return Limits(**base)


@pytest.fixture
def redis_counters(redis_url):
    c = RedisCounters(redis_url, prefix=f"test-dec-{uuid.uuid4().hex}")
    yield c
    for key in c.client.scan_iter(f"{c.prefix}:*"):
        c.client.delete(key)


@pytest.fixture(params=["redis", "database"])
def counters(request, redis_url):
    if request.param == "redis":
        return request.getfixturevalue("redis_counters")
    request.getfixturevalue("db")
    return DatabaseCounters(prefix=f"test-dec-{uuid.uuid4().hex}")


def test_rate_limit_counts_exactly_and_denied_requests_count_nothing(counters):
    lim = _limits(budget_cap=None)
    results = [counters.consume(limits=lim, cost=Decimal(0), now=T0) for _ in range(5)]
    assert [r.consumed for r in results] == [True, True, True, False, False]
    assert [r.rate_remaining for r in results] == [2, 1, 0, 0, 0]
    assert results[3].rate_exceeded
    # the next window starts from zero
    nxt = counters.consume(limits=lim, cost=Decimal(0), now=T0 + dt.timedelta(seconds=31))
    assert nxt.consumed and nxt.rate_remaining == 2


def test_budget_is_exact_and_a_denied_cost_is_not_spent(counters):
    lim = _limits(rate_limit=None)
    assert counters.consume(limits=lim, cost=Decimal("9.9999"), now=T0).budget_remaining == (
        Decimal("0.0001")
    )
    over = counters.consume(limits=lim, cost=Decimal("0.0002"), now=T0)
    assert not over.consumed and over.budget_exceeded
    assert over.budget_remaining == Decimal("0.0001")
    fits = counters.consume(limits=lim, cost=Decimal("0.0001"), now=T0)
    assert fits.consumed and fits.budget_remaining == Decimal(0)


def test_rate_denial_does_not_spend_budget_and_budget_denial_does_not_count_rate(counters):
    lim = _limits(rate_limit=1, budget_cap=Decimal(5))
    assert counters.consume(limits=lim, cost=Decimal(2), now=T0).consumed
    denied = counters.consume(limits=lim, cost=Decimal(2), now=T0)
    assert not denied.consumed and denied.rate_exceeded
    assert denied.budget_remaining == Decimal(3)
    lim2 = _limits(connection_id=8, rate_limit=2, budget_cap=Decimal(5))
    assert not counters.consume(limits=lim2, cost=Decimal(6), now=T0).consumed
    assert counters.consume(limits=lim2, cost=Decimal(1), now=T0).rate_remaining == 1


@pytest.mark.parametrize(
    ("period", "before", "after"),
    [
        ("hour", T0, T0 + dt.timedelta(seconds=30)),
        ("day", T0, T0 + dt.timedelta(seconds=30)),
        ("month", T0, T0 + dt.timedelta(seconds=30)),
        (
            "month",
            dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC),
            dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        ),
    ],
)
def test_budget_resets_at_the_period_boundary_and_not_before(counters, period, before, after):
    lim = _limits(rate_limit=None, budget_period=period)
    assert counters.consume(limits=lim, cost=Decimal(10), now=before).consumed
    assert not counters.consume(limits=lim, cost=Decimal(1), now=before).consumed
    assert not counters.consume(
        limits=lim, cost=Decimal(1), now=after - dt.timedelta(microseconds=1)
    ).consumed
    fresh = counters.consume(limits=lim, cost=Decimal(1), now=after)
    assert fresh.consumed and fresh.budget_remaining == Decimal(9)


def test_day_boundary_is_not_a_month_boundary(counters):
    lim = _limits(rate_limit=None, budget_period="month")
    jan30 = dt.datetime(2026, 1, 30, 23, 59, tzinfo=dt.UTC)
    assert counters.consume(limits=lim, cost=Decimal(10), now=jan30).consumed
    assert not counters.consume(limits=lim, cost=Decimal(1), now=T0).consumed


def test_log_only_rules_count_but_do_not_block(counters):
    lim = _limits(rate_limit=1, budget_cap=Decimal(1), enforce_rate=False, enforce_budget=False)
    first = counters.consume(limits=lim, cost=Decimal(1), now=T0)
    second = counters.consume(limits=lim, cost=Decimal(1), now=T0)
    assert first.consumed and not first.rate_exceeded and not first.budget_exceeded
    assert second.consumed and second.rate_exceeded and second.budget_exceeded
    assert second.rate_remaining == 0 and second.budget_remaining == 0


def test_dry_run_and_refund(counters):
    lim = _limits(rate_limit=2)
    assert counters.consume(limits=lim, cost=Decimal(4), now=T0).consumed
    peek = counters.consume(limits=lim, cost=Decimal(4), now=T0, dry_run=True)
    assert not peek.consumed and peek.rate_remaining == 1 and peek.budget_remaining == 6
    counters.refund(limits=lim, cost=Decimal(4), now=T0)
    again = counters.consume(limits=lim, cost=Decimal(0), now=T0, dry_run=True)
    assert again.rate_remaining == 2 and again.budget_remaining == 10


def test_redis_consume_is_one_round_trip(redis_counters):
    """Count what the client sends (per connection, so parallel tests cannot interfere)."""
    import redis

    sent = []

    class Counting(redis.connection.Connection):
        def send_packed_command(self, command, check_health=True):
            sent.append(command)
            return super().send_packed_command(command, check_health)

    pool = redis_counters.client.connection_pool
    pool.connection_class = Counting
    pool.reset()
    redis_counters.consume(limits=_limits(), cost=Decimal(1), now=T0)  # loads the script once
    sent.clear()
    usage = redis_counters.consume(limits=_limits(), cost=Decimal(1), now=T0)
    assert usage.consumed and usage.rate_remaining == 1
    assert len(sent) == 1, sent  # one EVALSHA: rate and budget together


def test_redis_loads_the_script_when_the_server_does_not_know_it(redis_counters):
    """After a Redis restart or SCRIPT FLUSH the first EVALSHA gets NOSCRIPT: load, then run."""
    redis_counters._consume.sha = "0" * 40  # a script the server has never seen
    usage = redis_counters.consume(limits=_limits(), cost=Decimal(1), now=T0)
    assert usage.consumed and usage.rate_remaining == 2
    assert redis_counters._consume.sha != "0" * 40
    assert redis_counters.consume(limits=_limits(), cost=Decimal(1), now=T0).rate_remaining == 1


def test_redis_counts_once_when_the_connection_fails(redis_counters, monkeypatch):
    """A connection error is not retried (the script may have run): fail, count at most once."""
    import redis

    def broken(self, command, check_health=True):
        raise redis.exceptions.ConnectionError("gone")

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", broken)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis_counters.consume(limits=_limits(), cost=Decimal(1), now=T0)
    monkeypatch.undo()
    usage = redis_counters.consume(limits=_limits(), cost=Decimal(1), now=T0, dry_run=True)
    assert usage.rate_remaining == 3 and usage.budget_remaining == 10


def test_redis_reconnects_when_the_server_closed_the_connection(redis_counters):
    """A server restart or an idle timeout closes our socket: the next decision reconnects
    before it sends anything, as redis-py's pool would, instead of failing."""
    assert redis_counters.consume(limits=_limits(), cost=Decimal(1), now=T0).consumed
    conn = redis_counters._connection()
    conn.send_command("CLIENT", "ID")
    redis_counters.client.client_kill_filter(_id=conn.read_response())
    usage = redis_counters.consume(limits=_limits(), cost=Decimal(1), now=T0)
    assert usage.consumed and usage.rate_remaining == 1


def test_keys_are_the_same_for_every_moment_of_a_period():
    from governance.decisions.counters import _keys

    for period in ("hour", "day", "month"):
        lim = _limits(budget_period=period)
        for moment in (T0, T0 + dt.timedelta(seconds=29), T0 + dt.timedelta(seconds=31)):
            keys = _keys("p", lim, moment)
            key, end = period_bounds(period, moment)
            assert keys.budget == f"p:budget:7:{period}:{key}"
            assert keys.budget_expires == end + dt.timedelta(hours=1)
            assert keys.budget_ttl == int(end.timestamp() - moment.timestamp()) + 3600
            window_end = (int(moment.timestamp()) // 60 + 1) * 60
            assert keys.rate_expires.timestamp() == window_end + 60


@pytest.mark.django_db
def test_sweep_deletes_only_ended_counters():
    c = DatabaseCounters(prefix="sweep")
    c.consume(limits=_limits(), cost=Decimal(1), now=T0)
    assert Counter.objects.filter(key__startswith="sweep").count() == 2
    assert counters_sweep(now=T0) == 0
    assert counters_sweep(now=T0 + dt.timedelta(minutes=5)) == 1  # the rate window ended
    assert counters_sweep(now=T0 + dt.timedelta(days=2)) == 1


def test_period_bounds():
    assert period_bounds("month", dt.datetime(2026, 12, 15, tzinfo=dt.UTC)) == (
        "2026-12",
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )
    with pytest.raises(ValueError):
        period_bounds("week", T0)


def _hammer(backend: str, url: str, prefix: str, env: dict, procs=2, attempts=60) -> list[int]:
    start_at = str(time.time() + 8)  # every process has started by then, even on a busy machine
    running = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.decisions._hammer",
                backend,
                url,
                prefix,
                str(attempts),
                start_at,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    counts = []
    for p in running:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        counts.append(int(out.strip().splitlines()[-1]))
    return counts


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL")}
    env.update(HAMMER_LIMIT="25", HAMMER_CAP="1000", HAMMER_COST="1")
    env.update(extra)
    return env


def test_two_processes_on_redis_get_exactly_n_allows(redis_url):
    prefix = f"test-dec-{uuid.uuid4().hex}"
    counts = _hammer("redis", redis_url, prefix, _env())
    assert sum(counts) == 25, counts
    budget = _hammer("redis", redis_url, prefix + "b", _env(HAMMER_LIMIT="1000", HAMMER_CAP="30"))
    assert sum(budget) == 30, budget


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_processes_on_postgresql_get_exactly_n_allows():
    s = connection.settings_dict
    url = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    counts = _hammer("database", "-", f"pg-{uuid.uuid4().hex}", _env(DATABASE_URL=url))
    assert sum(counts) == 25, counts


def test_two_processes_on_sqlite_get_exactly_n_allows(tmp_path):
    url = f"sqlite:///{tmp_path / 'counters.sqlite3'}"
    env = _env(DATABASE_URL=url, GOVERNANCE_VAR_DIR=str(tmp_path))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "decisions", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    counts = _hammer("database", "-", "sqlite", env)
    assert sum(counts) == 25, counts
