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
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

BENCH_ENV = {
    "DATABASE_URL": os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_decisions_http"
    ),
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "LOG_LEVEL": "WARNING",
    # Bench-only secrets (never used elsewhere): production settings refuse the dev defaults.
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 48,
    "CREDENTIAL_SECRET_PEPPER": "bench-only-pepper-" + "y" * 48,
    "SIGNING_KEY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(
        b"bench-only-signing-key-wrap-0001"
    ).decode(),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _client(host, port, request: bytes, until: float, latencies: list, errors: list):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 200") or (
                b'"allow"' not in body and b"ok" not in body
            ):
                errors.append(head.split(b"\r\n", 1)[0] + b" " + body[:200])
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _drive(host, port, request: bytes, seconds: float, connections: int):
    latencies: list[float] = []
    errors: list[bytes] = []
    until = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(host, port, request, until, latencies, errors) for _ in range(connections))
    )
    return latencies, errors, time.perf_counter() - started


def _report(name: str, latencies: list[float], errors: list[bytes], elapsed: float) -> None:
    latencies.sort()
    n = len(latencies)
    ms = [x * 1000 for x in latencies]
    print(
        f"{name}: {n / elapsed:,.0f} req/s over {elapsed:.1f} s ({n} requests, "
        f"{len(errors)} errors)  p50 {statistics.median(ms):.2f} ms  "
        f"p99 {ms[int(n * 0.99)]:.2f} ms"
    )
    if errors:
        print("  first error:", errors[0][:300])


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
    port = _free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "governance.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.workers),
            "-k",
            "gthread",
            "--threads",
            str(args.threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **BENCH_ENV},
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        auth = base64.b64encode(f"{world.rs_client_id}:{world.rs_secret}".encode()).decode()
        body = json.dumps(
            {"token": world.token, "action": "read", "resource": world.resource_slug}
        ).encode()
        decide = (
            f"POST /api/v1/decisions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Basic {auth}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        ping = (
            f"POST /oauth/ping HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        host = "127.0.0.1"
        asyncio.run(_drive(host, port, decide, 2, args.connections))  # warm every worker
        _report("ping (ceiling)", *asyncio.run(_drive(host, port, ping, 3, args.connections)))
        before = AuditEntry.objects.filter(action="decision").count()
        latencies, errors, elapsed = asyncio.run(
            _drive(host, port, decide, args.seconds, args.connections)
        )
        audited = AuditEntry.objects.filter(action="decision").count() - before
        _report(
            f"decisions (gunicorn {args.workers}w×{args.threads}t, {args.connections} conns, "
            f"durable audit: {not args.relaxed})",
            latencies,
            errors,
            elapsed,
        )
        print(
            f"  audited decisions during the run: {audited} (requests answered: {len(latencies)})"
        )
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
