"""Tokens issued per second over HTTP against gunicorn, as a ratio of a no-op endpoint.

    .venv/bin/python bench/tokens.py --database sqlite      [--seconds 7] [--connections 8]
    .venv/bin/python bench/tokens.py --database postgres    (uses REDIS_URL for the cache too)

Makes a fresh bench-only database (a temp SQLite file, or the PostgreSQL database
``bench_tokens``), migrates, registers an agent with a client secret and an ES256 public key
through the services, starts ``gunicorn governance.wsgi`` (2 gthread workers, keep-alive,
DEBUG off) and drives it from a small asyncio client that keeps connections open and sends
pre-encoded requests (the ``private_key_jwt`` assertions are signed before the clock starts),
so the load generator takes as little of the shared CPU as possible. Three phases in one run:
``/oauth/ping`` (the ceiling of Django + gunicorn here), ``client_credentials`` with
``client_secret_basic``, and with ``private_key_jwt``. Every issuance is audited: the script
counts the ``token.issue`` audit entries and compares them with the 200 responses.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
PG_URL = "postgres://postgres@127.0.0.1:5432/bench_tokens"

BENCH_ENV = {
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "LOG_LEVEL": "WARNING",
    # Bench-only secrets (never used elsewhere): production settings refuse the dev defaults.
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 48,
    "CREDENTIAL_SECRET_PEPPER": "bench-only-pepper-" + "y" * 48,
    "SIGNING_KEY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(
        b"bench-only-signing-key-wrap-0002"
    ).decode(),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _client(host, port, requests: list[bytes], until, latencies, errors, ok_marker):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        i = 0
        while time.perf_counter() < until and i < len(requests):
            request = requests[i]
            i += 1
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 200") or ok_marker not in body:
                errors.append(head.split(b"\r\n", 1)[0] + b" " + body[:200])
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _drive(host, port, per_connection: list[list[bytes]], seconds, ok_marker):
    latencies: list[float] = []
    errors: list[bytes] = []
    until = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(host, port, reqs, until, latencies, errors, ok_marker) for reqs in per_connection)
    )
    return latencies, errors, time.perf_counter() - started


def _report(name: str, latencies: list[float], errors: list[bytes], elapsed: float) -> float:
    latencies.sort()
    n = len(latencies)
    ms = [x * 1000 for x in latencies]
    rate = n / elapsed
    print(
        f"{name}: {rate:,.0f} req/s over {elapsed:.1f} s ({n} requests, {len(errors)} errors)"
        f"  p50 {statistics.median(ms):.2f} ms  p99 {ms[int(n * 0.99)]:.2f} ms"
    )
    if errors:
        print("  first error:", errors[0][:300])
    return rate


def _post(port: int, path: str, body: str, auth: str | None = None) -> bytes:
    data = body.encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(data)}\r\n"
    )
    if auth:
        head += f"Authorization: {auth}\r\n"
    return (head + "\r\n").encode() + data


def _make_world(issuer: str):
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from agents.models import Agent, Scope, ScopeGrant, Team
    from credentials import services
    from credentials.crypto import public_jwk_of

    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    agent, _ = Agent.objects.get_or_create(
        slug="bench-agent",
        defaults={"display_name": "Bench agent", "purpose": "benchmark", "owner_team": team},
    )
    scope, _ = Scope.objects.get_or_create(name="ledger:read")
    ScopeGrant.objects.get_or_create(agent=agent, scope=scope, defaults={"justification": "b"})
    secret = services.credential_issue(agent=agent, by="system:bench").secret
    private = ec.generate_private_key(ec.SECP256R1())
    key_cred = services.credential_issue(
        agent=agent, kind="public_key", public_jwk=public_jwk_of(private), by="system:bench"
    ).credential

    def assertion() -> str:
        now = int(time.time())
        claims = {
            "iss": agent.slug,
            "sub": agent.slug,
            "aud": f"{issuer}/oauth/token",
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, private, algorithm="ES256", headers={"kid": key_cred.pk})

    return agent, secret, assertion


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--seconds", type=float, default=7, help="per token phase")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-tokens-")
    env = {**BENCH_ENV, "GOVERNANCE_VAR_DIR": tmp}
    if args.database == "postgres":
        env["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", PG_URL)
        env["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
        if env["DATABASE_URL"] == PG_URL:
            subprocess.run(
                ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", "bench_tokens"]
            )
            subprocess.run(
                ["createdb", "-h", "127.0.0.1", "-U", "postgres", "bench_tokens"], check=True
            )
    else:
        env.pop("DATABASE_URL", None)
        os.environ.pop("DATABASE_URL", None)
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    env["OAUTH_ISSUER"] = issuer
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    import django

    django.setup()
    from django.db import connection

    from audit.models import AuditEntry

    agent, secret, make_assertion = _make_world(issuer)
    n_assertions = int(args.seconds * 1500) + 2000
    assertions = [make_assertion() for _ in range(n_assertions)]
    connection.close()

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
        env={**os.environ, **env},
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        host, conns = "127.0.0.1", args.connections
        basic = "Basic " + base64.b64encode(f"{agent.slug}:{secret}".encode()).decode()
        cc = urlencode({"grant_type": "client_credentials"})
        basic_req = _post(port, "/oauth/token", cc, basic)
        ping_req = _post(port, "/oauth/ping", "")
        many = 100_000

        def same(request: bytes) -> list[list[bytes]]:
            return [[request] * many for _ in range(conns)]

        jwt_reqs = [
            _post(
                port,
                "/oauth/token",
                urlencode(
                    {
                        "grant_type": "client_credentials",
                        "client_assertion_type": (
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                        ),
                        "client_assertion": a,
                    }
                ),
            )
            for a in assertions
        ]
        per_conn_jwt = [jwt_reqs[i::conns] for i in range(conns)]
        warm = [reqs[:20] for reqs in per_conn_jwt]
        per_conn_jwt = [reqs[20:] for reqs in per_conn_jwt]

        print(
            f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}  database={connection.vendor}  "
            f"gunicorn {args.workers} workers × {args.threads} threads, {conns} connections, "
            f"{os.cpu_count()} CPUs shared with the load generator"
        )
        asyncio.run(_drive(host, port, same(basic_req), 2, b"access_token"))  # warm up
        asyncio.run(_drive(host, port, warm, 2, b"access_token"))
        ceiling = _report(
            "no-op /oauth/ping (ceiling)",
            *asyncio.run(_drive(host, port, same(ping_req), args.seconds, b"ok")),
        )
        results = {}
        for name, per_conn in (
            ("client_secret_basic", same(basic_req)),
            ("private_key_jwt", per_conn_jwt),
        ):
            before = AuditEntry.objects.filter(action="token.issue").count()
            latencies, errors, elapsed = asyncio.run(
                _drive(host, port, per_conn, args.seconds, b"access_token")
            )
            audited = AuditEntry.objects.filter(action="token.issue").count() - before
            rate = _report(f"client_credentials + {name}", latencies, errors, elapsed)
            ok = len(latencies) - len(errors)
            print(
                f"  {rate / ceiling:.0%} of the no-op ceiling; audited issuances {audited} "
                f"for {ok} tokens issued{'' if audited == ok else '  (MISMATCH)'}"
            )
            results[name] = rate
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
