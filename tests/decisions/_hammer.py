"""Run as a separate process by the concurrency tests: consume from one connection's counters.

    python -m tests.decisions._hammer <backend> <redis-url|-> <prefix> <attempts> <start-at>

Reads DATABASE_URL like the server does, waits until ``start-at`` (epoch seconds) so that every
process starts together, prints how many of its attempts were allowed.
"""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    import django

    django.setup()
    from decimal import Decimal

    from django.db import close_old_connections
    from django.utils import timezone

    from governance.decisions.counters import DatabaseCounters, Limits, RedisCounters

    backend, url, prefix, attempts, start_at = sys.argv[1:6]
    counters = RedisCounters(url, prefix=prefix) if backend == "redis" else DatabaseCounters(prefix)
    limits = Limits(
        connection_id=1,
        rate_limit=int(os.environ.get("HAMMER_LIMIT", "25")),
        window_seconds=3600,
        budget_cap=Decimal(os.environ.get("HAMMER_CAP", "1000")),
        budget_period="month",
    )
    cost = Decimal(os.environ.get("HAMMER_COST", "1"))
    close_old_connections()
    time.sleep(max(0.0, float(start_at) - time.time()))
    allowed = 0
    for _ in range(int(attempts)):
        if counters.consume(limits=limits, cost=cost, now=timezone.now()).consumed:
            allowed += 1
    print(allowed)


if __name__ == "__main__":
    main()
