"""Tokens issued per second over HTTP against gunicorn, as a ratio of a no-op endpoint.

    .venv/bin/python bench/tokens.py --database sqlite      [--seconds 7] [--connections 8]
    .venv/bin/python bench/tokens.py --database postgres    (uses REDIS_URL for the cache too)

Makes a fresh bench-only database (a temp SQLite file, or the PostgreSQL database
``bench_tokens``), migrates, registers an agent with a client secret and an ES256 public key
through the services, starts ``gunicorn governance.wsgi`` (4 gthread workers × 2 threads, the shape
docs/operations.md recommends for a 2-core host; keep-alive,
DEBUG off) and drives it from a small asyncio client that keeps connections open and sends
pre-encoded requests (the ``private_key_jwt`` assertions are signed before the clock starts),
so the load generator takes as little of the shared CPU as possible. With ``--client wrk`` (the
default when ``wrk`` is installed: ``apt-get install wrk``) the load comes from one wrk thread
instead (C, epoll; a Lua script hands each connection its own pre-signed assertions), which
costs the shared CPU less than the Python client. Three phases in one run:
``/oauth/ping`` (the ceiling of Django + gunicorn here), ``client_credentials`` with
``client_secret_basic``, and with ``private_key_jwt``. Every issuance is audited: the script
counts the ``token.issue`` audit entries and compares them with the 200 responses.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
import uuid
from urllib.parse import urlencode

from _http import (
    ROOT,
    CpuMeter,
    bench_env,
    cpu_line,
    default_client,
    drive,
    free_port,
    gunicorn,
    post,
    repeat,
    report,
    report_wrk,
    wrk_drive,
)

PG_URL = "postgres://postgres@127.0.0.1:5432/bench_tokens"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

BENCH_ENV = bench_env(b"bench-only-signing-key-wrap-0002")


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
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    ap.add_argument("--preload", action="store_true")
    ap.add_argument(
        "--client",
        choices=["wrk", "asyncio"],
        default=default_client(),
        help="load generator (wrk: apt-get install wrk)",
    )
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
    port = free_port()
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

    server_env = {**os.environ, **env}
    with gunicorn(
        port,
        server_env,
        workers=args.workers,
        threads=args.threads,
        worker_class=args.worker_class,
        preload=args.preload,
    ) as server:
        conns = args.connections
        basic = "Basic " + base64.b64encode(f"{agent.slug}:{secret}".encode()).decode()
        cc = urlencode({"grant_type": "client_credentials"})
        basic_req = post(port, "/oauth/token", cc, basic)
        ping_req = post(port, "/oauth/ping", "")
        jwt_reqs = [
            post(
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
            f"gunicorn {args.workers} {args.worker_class} workers × {args.threads} threads"
            f"{' --preload' if args.preload else ''}, {conns} connections, load generator "
            f"{args.client}, {os.cpu_count()} CPUs shared; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        drive(port, repeat(basic_req, conns), 2, b"access_token")  # warm up
        drive(port, warm, 2, b"access_token")
        meter = CpuMeter(
            server.pid, connection.settings_dict["NAME"] if connection.vendor != "sqlite" else None
        )
        before = meter.sample()
        if args.client == "wrk":
            result = wrk_drive(port, "/oauth/ping", [""], "", args.seconds, conns, tmp)
            ceiling, n = report_wrk("no-op /oauth/ping (ceiling)", *result), result[0]
        else:
            latencies, errors, elapsed = drive(port, repeat(ping_req, conns), args.seconds, b"ok")
            ceiling, n = (
                report("no-op /oauth/ping (ceiling)", latencies, errors, elapsed),
                len(latencies),
            )
        ping_cpu = cpu_line(meter, before, n)
        jwt_bodies = [
            urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": a,
                }
            )
            for a in assertions[conns * 20 :]  # the first ones were sent in the warm-up
        ]
        results = {}
        for name, per_conn, bodies, auth in (
            ("client_secret_basic", repeat(basic_req, conns), [cc], basic),
            ("private_key_jwt", per_conn_jwt, jwt_bodies, ""),
        ):
            before = AuditEntry.objects.filter(action="token.issue").count()
            cpu_before = meter.sample()
            if args.client == "wrk":
                n, bad, elapsed, p50, p99 = wrk_drive(
                    port, "/oauth/token", bodies, auth, args.seconds, conns, tmp
                )
                rate = report_wrk(f"client_credentials + {name}", n, bad, elapsed, p50, p99)
                ok = n - bad
            else:
                latencies, errors, elapsed = drive(port, per_conn, args.seconds, b"access_token")
                rate = report(f"client_credentials + {name}", latencies, errors, elapsed)
                ok = len(latencies) - len(errors)
                n = len(latencies)
            token_cpu = cpu_line(meter, cpu_before, n)
            time.sleep(0.5)  # let requests in flight when the client stopped finish
            audited = AuditEntry.objects.filter(action="token.issue").count() - before
            # Every token received must be audited; wrk stops with up to one request per
            # connection in flight, issued and audited but never read, hence the slack.
            slack = conns if args.client == "wrk" else 0
            print(
                f"  {rate / ceiling:.0%} of the no-op ceiling; audited issuances {audited} "
                f"for {ok} tokens received"
                f"{'' if ok <= audited <= ok + slack else '  (MISMATCH)'}"
            )
            print(
                f"  CPU ratio no-op/token (server + database): {ping_cpu / token_cpu:.0%}, the "
                "req/s ratio to expect when the server alone has the CPUs"
            )
            results[name] = rate


if __name__ == "__main__":
    main()
