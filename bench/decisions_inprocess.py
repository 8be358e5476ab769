"""The in-process cost of ``decision_make`` with warm caches (target: median ≤ 300 µs).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_decisions \
    REDIS_URL=redis://127.0.0.1:6379/14 \
    .venv/bin/python bench/decisions_inprocess.py [n] [--relaxed] [--cold]

``--cold`` empties the per-process caches (decision cache, verified signatures) before every
call: the cost of a decision whose epoch moved on, or of a token seen for the first time.

Every call does the whole decision: token signature and live state, scope, connection, trust,
counters (Redis or database, per RATE_LIMIT_BACKEND) and the audit entry, committed durably
unless ``--relaxed``. The database must be migrated (``manage.py migrate``).

Printed: the wall-clock and CPU medians of the calling thread (CPU: what the decision costs
this process, the figure the target is judged by, since the wall clock includes waiting for
the disk), and the breakdown of the wall clock: the audit INSERT and its commit, the Redis
round trip, and the rest; beside them the floor of this machine, measured in the same run: a
``SELECT 1`` round trip and a durable one-row INSERT + COMMIT.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from decisions_world import make_world, setup_django

# What ``--cold`` forgets before every call: the decision point's own caches and the verified
# signatures (not the signing keys, which no decision signs with).
COLD = (
    "decisions.epoch_hint",
    "decisions.token_checks",
    "decisions.contexts",
    "decisions.plans",
    "credentials.verified_signatures",
)


def _median_us(values: list[float]) -> float:
    return statistics.median(values) * 1e6


class _Timer:
    """Wraps a function and records the wall-clock time of each call (the last one per call
    of ``decision_make`` is what the breakdown uses)."""

    def __init__(self, owner: object, name: str) -> None:
        self.owner, self.name, self.last = owner, name, 0.0
        self.original = getattr(owner, name)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.last += time.perf_counter() - t0

        setattr(owner, name, timed)


def _floor(n: int) -> tuple[float, float]:
    """(SELECT 1 round trip, durable one-row INSERT + COMMIT), wall-clock medians."""
    from django.db import connection

    def run(fn: Callable[[], None]) -> float:
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        return _median_us(samples)

    def select() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    def insert() -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_floor (v) VALUES (1)")

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, v int)")
    try:
        return run(select), run(insert)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_floor")


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.db import connection

    from agents.models import Resource
    from audit import services as audit
    from credentials import process_caches
    from governance.decisions import counters
    from governance.decisions.services import decision_make

    cold = "--cold" in sys.argv

    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 2000
    if "--relaxed" in sys.argv:
        settings.DECISIONS_DURABLE_AUDIT = False
    world = make_world()
    caller = Resource.objects.get(pk=world.resource_id)
    for _ in range(200):  # warm: key caches, prepared statements, connection pool
        assert (
            decision_make(
                caller=caller, token=world.token, action="read", resource=world.resource_slug
            ).decision
            == "allow"
        )
    insert = _Timer(audit, "_write")
    redis = _Timer(counters.RedisCounters, "_call")
    samples, cpu, insert_wall, redis_wall = [], [], [], []
    for _ in range(n):
        if cold:
            process_caches.forget(*COLD)
        insert.last = redis.last = 0.0
        t0, c0 = time.perf_counter(), time.thread_time()
        decision_make(caller=caller, token=world.token, action="read", resource=world.resource_slug)
        cpu.append(time.thread_time() - c0)
        samples.append(time.perf_counter() - t0)
        insert_wall.append(insert.last)
        redis_wall.append(redis.last)
    audit._write = insert.original
    counters.RedisCounters._call = redis.original
    select_floor, insert_floor = _floor(min(n, 1000))
    rest = [s - i - r for s, i, r in zip(samples, insert_wall, redis_wall, strict=True)]
    samples.sort()
    us = [s * 1e6 for s in samples]
    print(
        f"decision_make in-process: n={n} db={connection.vendor} "
        f"counters={settings.RATE_LIMIT_BACKEND} caches={'emptied every call' if cold else 'warm'}"
        f"  durable audit: {settings.DECISIONS_DURABLE_AUDIT}"
    )
    print(
        f"  wall clock: median {statistics.median(us):.0f} µs   p90 {us[int(n * 0.9)]:.0f} µs   "
        f"p99 {us[int(n * 0.99)]:.0f} µs   mean {statistics.fmean(us):.0f} µs"
    )
    # CPU spent in this thread only: what the decision costs us, excluding the waits on
    # PostgreSQL, Redis and the disk (and on other processes when the machine is loaded).
    print(f"  CPU of the calling thread: median {_median_us(cpu):.0f} µs")
    print(
        f"  wall clock, medians: audit INSERT + commit {_median_us(insert_wall):.0f} µs, "
        f"Redis round trip {_median_us(redis_wall):.0f} µs, the rest {_median_us(rest):.0f} µs"
    )
    print(
        f"  this machine now: SELECT 1 round trip {select_floor:.0f} µs, "
        f"durable one-row INSERT + COMMIT {insert_floor:.0f} µs"
    )


if __name__ == "__main__":
    main()
