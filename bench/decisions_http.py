"""Decisions per second and latency over HTTP on loopback, against gunicorn (targets: ≥ 1,000/s,
p99 ≤ 10 ms on PostgreSQL + Redis), every decision audited.

    .venv/bin/python bench/decisions_http.py [--seconds 10] [--connections 8] [--workers 2]
                                             [--relaxed]

Uses DATABASE_URL (PostgreSQL) and REDIS_URL from the environment (defaults below), migrates,
makes a resource server, a trusted agent and a token, starts gunicorn with DEBUG off, then
drives it with a small asyncio client that keeps connections open and sends a pre-encoded
request (so the client spends as little of the shared CPU as possible). It also times the
no-op ``/oauth/ping`` endpoint on the same stack: the ceiling of Django + gunicorn here.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import bench_env, drive, free_port, gunicorn, post, repeat, report

BENCH_ENV = {
    "DATABASE_URL": os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_decisions_http"
    ),
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
    **bench_env(b"bench-only-signing-key-wrap-0001"),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument(
        "--relaxed", action="store_true", help="DECISIONS_DURABLE_AUDIT=false (no WAL flush wait)"
    )
    args = ap.parse_args()
    if args.relaxed:
        BENCH_ENV["DECISIONS_DURABLE_AUDIT"] = "false"

    os.environ.update(BENCH_ENV)
    if BENCH_ENV["DATABASE_URL"].endswith("/bench_decisions_http"):
        # A fresh bench-only database: its keys are wrapped with the bench-only secrets above.
        for cmd in ("dropdb", "createdb"):
            subprocess.run(
                [cmd, "-h", "127.0.0.1", "-U", "postgres", "bench_decisions_http"]
                + (["--if-exists"] if cmd == "dropdb" else []),
                check=cmd == "createdb",
            )
    from decisions_world import make_world, setup_django

    setup_django()
    from django.core.management import call_command

    from audit.models import AuditEntry

    call_command("migrate", verbosity=0)
    world = make_world()
    port = free_port()
    conns = args.connections
    with gunicorn(port, {**os.environ, **BENCH_ENV}, workers=args.workers, threads=args.threads):
        auth = base64.b64encode(f"{world.rs_client_id}:{world.rs_secret}".encode()).decode()
        body = json.dumps({"token": world.token, "action": "read", "resource": world.resource_slug})
        decide = post(port, "/api/v1/decisions", body, f"Basic {auth}", "application/json")
        ping = post(port, "/oauth/ping", "", content_type=None)
        drive(port, repeat(decide, conns), 2, b'"allow"')  # warm every worker
        report("ping (ceiling)", *drive(port, repeat(ping, conns), 3, b"ok"))
        before = AuditEntry.objects.filter(action="decision").count()
        latencies, errors, elapsed = drive(port, repeat(decide, conns), args.seconds, b'"allow"')
        audited = AuditEntry.objects.filter(action="decision").count() - before
        report(
            f"decisions (gunicorn {args.workers}w×{args.threads}t, {conns} conns, "
            f"durable audit: {not args.relaxed})",
            latencies,
            errors,
            elapsed,
        )
        print(
            f"  audited decisions during the run: {audited} (requests answered: {len(latencies)})"
        )


if __name__ == "__main__":
    main()
