"""Decisions per second and latency over HTTP on loopback, against gunicorn (targets: ≥ 1,000/s,
p99 ≤ 10 ms on PostgreSQL + Redis), every decision audited.

    .venv/bin/python bench/decisions_http.py [--seconds 3] [--rounds 3] [--connections 2,4,8]
                                             [--workers 4] [--threads 2] [--client wrk|asyncio]
                                             [--relaxed]

Uses DATABASE_URL (PostgreSQL; a database named ``bench_*`` is dropped and created afresh) and
REDIS_URL from the environment (defaults below), migrates,
makes a resource server, a trusted agent and a token, starts gunicorn with DEBUG off, then
drives it with closed-loop keep-alive connections: ``wrk`` (the default when installed: C,
epoll, one thread, a Lua script that also checks every body says ``"allow"``) or a small
asyncio client. Each connection count in ``--connections`` is one phase (Little's law: with N
connections the mean latency is N / rate, so the concurrency is part of the figure). It also
times the no-op ``/oauth/ping`` endpoint on the same server: the ceiling of Django + gunicorn.

This machine's speed swings from minute to minute, so the phases are interleaved: ``--rounds``
rounds of (ping, then each connection count), ``--seconds`` each, and the summary takes
medians over the rounds rather than trusting one phase.

For every phase it prints req/s, p50, p99, the CPU per request of the server (gunicorn and its
workers), the PostgreSQL backends of the bench database and Redis (the whole server), which
hardly depends on what else the shared machine runs, unlike req/s; and it counts the decision
audit entries written during the phase against the answers received. At the end, per
connection count: the median req/s, p50 and CPU per request, each round's p99 (median, worst),
in how many rounds each target was met, and the audit check summed over the rounds (MISMATCH
names the rounds off).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import (
    CpuMeter,
    Driver,
    Rounds,
    audit_text,
    bench_env,
    default_client,
    drive,
    free_port,
    gunicorn,
    post,
    redis_pid,
    repeat,
    round_header,
    summarise,
    summary_header,
)

BENCH_ENV = {
    "DATABASE_URL": os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_decisions_http"
    ),
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
    **bench_env(b"bench-only-signing-key-wrap-0001"),
}

# What docs/operations.md recommends for a 2-core host (see docs/decisions.md for the runs).
WORKERS, THREADS = 4, 2
TARGET_RATE, TARGET_P99_MS = 1000, 10
JSON = "application/json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3, help="per phase")
    ap.add_argument("--rounds", type=int, default=3, help="of (ping, each connection count)")
    ap.add_argument(
        "--connections", default="2,4,8", help="closed-loop connections; a list: one phase each"
    )
    ap.add_argument("--workers", type=int, default=WORKERS)
    ap.add_argument("--threads", type=int, default=THREADS)
    ap.add_argument("--client", choices=["wrk", "asyncio"], default=default_client())
    ap.add_argument(
        "--relaxed", action="store_true", help="DECISIONS_DURABLE_AUDIT=false (no WAL flush wait)"
    )
    args = ap.parse_args()
    if args.relaxed:
        BENCH_ENV["DECISIONS_DURABLE_AUDIT"] = "false"
    phases = list(dict.fromkeys(int(c) for c in args.connections.split(",")))

    os.environ.update(BENCH_ENV)
    name = urlsplit(BENCH_ENV["DATABASE_URL"]).path.lstrip("/")
    if name.startswith("bench_"):
        # A fresh bench-only database: its keys are wrapped with the bench-only secrets above,
        # and the audit table's indexes start empty, as on every run.
        for cmd in ("dropdb", "createdb"):
            subprocess.run(
                [cmd, "-h", "127.0.0.1", "-U", "postgres", name]
                + (["--if-exists"] if cmd == "dropdb" else []),
                check=cmd == "createdb",
            )
    from decisions_world import make_world, setup_django

    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from audit.models import AuditEntry

    def decided() -> int:
        return AuditEntry.objects.filter(action="decision").count()

    call_command("migrate", verbosity=0)
    world = make_world()
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="bench-decisions-")
    server_env = {**os.environ, **BENCH_ENV}
    with gunicorn(port, server_env, workers=args.workers, threads=args.threads) as server:
        basic = f"{world.rs_client_id}:{world.rs_secret}".encode()
        auth = "Basic " + base64.b64encode(basic).decode()
        body = json.dumps({"token": world.token, "action": "read", "resource": world.resource_slug})
        decide = post(port, "/api/v1/decisions", body, auth, JSON)
        print(
            f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}  PostgreSQL + Redis, durable audit: "
            f"{not args.relaxed}; gunicorn {args.workers} gthread workers × {args.threads} "
            f"threads; load generator {args.client}; {args.rounds} rounds of "
            f"{1 + len(phases)} phases × {args.seconds:g} s; {os.cpu_count()} CPUs shared; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        # Warm every worker and every thread: a thread's first request opens its own database
        # and Redis connections, and a worker's first loads Django's URLconf and views (~0.3 s,
        # holding the GIL against the worker's other thread). Twice as many connections as
        # threads, so that every worker accepts some.
        drive(port, repeat(decide, 2 * args.workers * args.threads), 3, b'"allow"')
        meter = CpuMeter(
            server.pid, connection.settings_dict["NAME"], redis_pid(BENCH_ENV["REDIS_URL"])
        )
        bench = Driver(args.client, meter, port, args.seconds, tmp)
        ping = f"ping (ceiling), {phases[-1]} conns"
        rounds = Rounds()
        for number in range(1, args.rounds + 1):
            round_header(number, args.rounds)
            rounds.add(bench.phase(ping, "/oauth/ping", [""], "", phases[-1], ok_marker=b"ok"))
            for conns in phases:
                before = decided()
                phase = rounds.add(
                    bench.phase(
                        f"decisions, {conns} conns", "/api/v1/decisions", [body], auth, conns,
                        content_type=JSON, ok_marker=b'"allow"',
                    )
                )  # fmt: skip
                time.sleep(0.5)  # let requests in flight when the client stopped finish
                phase.audited = decided() - before
                # wrk stops with up to one request per connection in flight: decided and audited,
                # but never read; hence the slack.
                phase.slack = conns if args.client == "wrk" else 0
                print("  " + audit_text([phase], "decisions", "allows received"))
        summary_header(args.rounds)
        summarise(rounds[ping])
        for conns in phases:
            summarise(
                rounds[f"decisions, {conns} conns"],
                audit=("decisions", "allows received"),
                rate_target=TARGET_RATE,
                p99_target=TARGET_P99_MS,
            )


if __name__ == "__main__":
    main()
