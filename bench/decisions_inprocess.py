"""The in-process cost of ``decision_make`` with warm caches (target: median ≤ 300 µs).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_decisions \
    REDIS_URL=redis://127.0.0.1:6379/14 \
    .venv/bin/python bench/decisions_inprocess.py [n] [--relaxed] [--cold]

``--cold`` empties the per-process caches (decision cache, verified signatures) before every
call: the cost of a decision whose epoch moved on, or of a token seen for the first time.

Every call does the whole decision: token signature and live state, scope, connection, trust,
counters (Redis or database, per RATE_LIMIT_BACKEND) and the audit entry in its transaction.
The database must be migrated (``manage.py migrate``).
"""

from __future__ import annotations

import statistics
import sys
import time

from decisions_world import make_world, setup_django


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.db import connection

    from agents.models import Resource
    from credentials import tokens
    from governance.decisions import cache
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
    samples, cpu = [], []
    for _ in range(n):
        if cold:
            cache.clear()
            tokens._VERIFIED.clear()
        t0, c0 = time.perf_counter(), time.thread_time()
        decision_make(caller=caller, token=world.token, action="read", resource=world.resource_slug)
        cpu.append(time.thread_time() - c0)
        samples.append(time.perf_counter() - t0)
    samples.sort()
    cpu.sort()
    us = [s * 1e6 for s in samples]
    print(
        f"decision_make in-process: n={n} db={connection.vendor} "
        f"counters={settings.RATE_LIMIT_BACKEND} caches={'emptied every call' if cold else 'warm'}"
    )
    print(
        f"  median {statistics.median(us):.0f} µs   p90 {us[int(n * 0.9)]:.0f} µs   "
        f"p99 {us[int(n * 0.99)]:.0f} µs   mean {statistics.fmean(us):.0f} µs   (wall clock)"
    )
    # CPU spent in this process only: what the decision costs us, excluding the waits on
    # PostgreSQL, Redis and the disk (and on other processes when the machine is loaded).
    print(
        f"  median {statistics.median(cpu) * 1e6:.0f} µs CPU in-process   "
        f"durable audit: {getattr(settings, 'DECISIONS_DURABLE_AUDIT', True)}"
    )


if __name__ == "__main__":
    main()
