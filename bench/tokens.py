"""Tokens issued per second over HTTP against gunicorn, as a ratio of a no-op endpoint.

    .venv/bin/python bench/tokens.py --database sqlite      [--seconds 3] [--rounds 3]
                                     [--connections 8] [--client wrk|asyncio]
    .venv/bin/python bench/tokens.py --database postgres    (uses REDIS_URL for the cache too)
    .venv/bin/python bench/tokens.py … --versus-dot         (django-oauth-toolkit beside us)

Makes a fresh bench-only database (a temp SQLite file, or the PostgreSQL database
``bench_tokens``), migrates, registers an agent with a client secret and an ES256 public key
through the services, starts ``gunicorn governance.wsgi`` (4 gthread workers × 2 threads, the shape
docs/operations.md recommends for a 2-core host; keep-alive, DEBUG off) and drives it with
``wrk`` (the default when installed: ``apt-get install wrk``; one thread, C and epoll, a Lua
script hands every request its own body) or, with ``--client asyncio``, a small asyncio client
that keeps connections open and sends pre-encoded requests.

This machine's speed swings from minute to minute, so the phases are interleaved: ``--rounds``
rounds of three phases of ``--seconds`` each: ``/oauth/ping`` (the ceiling of Django + gunicorn
here), ``client_credentials`` with ``client_secret_basic``, and with ``private_key_jwt``; each
token phase is compared with the no-op phase of its own round. Every round signs fresh
``private_key_jwt`` assertions before its first phase (a ``jti`` is single-use: one sent again
is refused as a replay).

With ``--versus-dot`` django-oauth-toolkit's token endpoint runs beside ours in the same run
(``bench/_dot.py``: its own virtualenv and project, its fastest configuration —
``hash_client_secret=False`` — on the same database engine, gunicorn in the same shape) and
each round adds a phase of ``client_credentials`` + ``client_secret_basic`` against it, right
after ours; the summary gives the ratio of ours to it, round by round.

Per phase: req/s, p50, p99, the CPU per request of the server, the PostgreSQL backends of the
bench database, Redis (when local) and the load generator; for a token phase also its ratio to
the round's no-op and the ``token.issue`` audit entries written against the tokens received.
At the end, for each phase: the median req/s, p50 and CPU per request over the rounds, each
round's p99 (median, worst), each round's ratio to its no-op (median) and the CPU ratio
no-op/token, and the audit check summed over the rounds (MISMATCH names the rounds off).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from urllib.parse import urlencode

import _dot
from _http import (
    ROOT,
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
    ratio,
    redis_pid,
    repeat,
    round_header,
    summarise,
    summary_header,
)

PG_URL = "postgres://postgres@127.0.0.1:5432/bench_tokens"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

BENCH_ENV = bench_env(b"bench-only-signing-key-wrap-0002")
PING = "no-op /oauth/ping (ceiling)"
BASIC = "client_credentials + client_secret_basic"
DOT = "django-oauth-toolkit client_credentials + client_secret_basic"
DOT_PG = "bench_tokens_dot"
JWT = "client_credentials + private_key_jwt"


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
        # PENDING: an UNTRUSTED (quarantined) agent would get no token at all.
        defaults={
            "display_name": "Bench agent",
            "purpose": "benchmark",
            "owner_team": team,
            "trust_level": "pending",
        },
    )
    scope, _ = Scope.objects.get_or_create(name="ledger:read", defaults={"action": "read"})
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


def _jwt_bodies(make_assertion, count: int) -> list[str]:
    """``count`` token requests with freshly signed ``private_key_jwt`` assertions."""
    return [
        urlencode(
            {
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": make_assertion(),
            }
        )
        for _ in range(count)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--seconds", type=float, default=3, help="per phase")
    ap.add_argument("--rounds", type=int, default=3, help="of (no-op, basic, jwt)")
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
    ap.add_argument(
        "--versus-dot",
        action="store_true",
        help="run django-oauth-toolkit's token endpoint beside ours, same shape and database",
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
    conns = args.connections
    # Signed before the clock starts; 1,500/s is above any rate measured here.
    per_round = int(args.seconds * 1500) + 1000
    warm_jwt = _jwt_bodies(make_assertion, conns * 20)
    connection.close()

    def issued() -> int:
        return AuditEntry.objects.filter(action="token.issue").count()

    server_env = {**os.environ, **env}
    dot_port = free_port()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(
            gunicorn(
                port,
                server_env,
                workers=args.workers,
                threads=args.threads,
                worker_class=args.worker_class,
                preload=args.preload,
            )
        )
        dot = None
        if args.versus_dot:
            dot_db = _dot_database(args.database, tmp)
            dot = stack.enter_context(
                _dot.server(dot_port, dot_db, workers=args.workers, threads=args.threads)
            )
            print(f"django-oauth-toolkit {_dot.version(_dot.venv())} on {dot_db.split(':')[0]}")
        basic = "Basic " + base64.b64encode(f"{agent.slug}:{secret}".encode()).decode()
        cc = urlencode({"grant_type": "client_credentials"})
        wrk = args.client == "wrk"
        print(
            f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}  database={connection.vendor}  "
            f"gunicorn {args.workers} {args.worker_class} workers × {args.threads} threads"
            f"{' --preload' if args.preload else ''}, {conns} connections, load generator "
            f"{args.client}, {args.rounds} rounds of 3 phases × {args.seconds:g} s, "
            f"{os.cpu_count()} CPUs shared; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        # Warm up (both with the asyncio client).
        drive(port, repeat(post(port, "/oauth/token", cc, basic), conns), 2, b"access_token")
        warm = [[post(port, "/oauth/token", b) for b in warm_jwt[i::conns]] for i in range(conns)]
        drive(port, warm, 2, b"access_token")
        meter = CpuMeter(
            server.pid,
            connection.settings_dict["NAME"] if connection.vendor != "sqlite" else None,
            redis_pid(os.environ.get("REDIS_URL")),
        )
        # With wrk the bodies are not checked (a Lua call per response would cost the shared
        # CPU); the asyncio client checks them at no extra cost.
        ping_ok, token_ok = (None, None) if wrk else (b"ok", b"access_token")
        bench = Driver(args.client, meter, port, args.seconds, tmp)
        dot_bench = dot_basic = None
        if dot is not None:
            dot_process, dot_id, dot_secret = dot
            dot_basic = "Basic " + base64.b64encode(f"{dot_id}:{dot_secret}".encode()).decode()
            warm_dot = repeat(post(dot_port, "/o/token/", cc, dot_basic), conns)
            drive(dot_port, warm_dot, 2, b"access_token")
            dot_meter = CpuMeter(
                dot_process.pid,
                DOT_PG if connection.vendor != "sqlite" else None,
                redis_pid(os.environ.get("REDIS_URL")),
            )
            dot_bench = Driver(args.client, dot_meter, dot_port, args.seconds, tmp)
        rounds = Rounds()
        for number in range(1, args.rounds + 1):
            round_header(number, args.rounds)
            jwt_bodies = _jwt_bodies(make_assertion, per_round)  # fresh: each jti is single-use
            ping = rounds.add(bench.phase(PING, "/oauth/ping", [""], "", conns, ok_marker=ping_ok))
            for name, bodies, auth in ((BASIC, [cc], basic), (JWT, jwt_bodies, "")):
                before = issued()
                phase = rounds.add(
                    bench.phase(name, "/oauth/token", bodies, auth, conns, ok_marker=token_ok)
                )
                time.sleep(0.5)  # let requests in flight when the client stopped finish
                phase.audited = issued() - before
                # Every token received must be audited; wrk stops with up to one request per
                # connection in flight, issued and audited but never read, hence the slack.
                phase.slack = conns if wrk else 0
                print(
                    f"  {ratio(phase.rate, ping.rate):.0%} of this round's no-op ceiling; "
                    + audit_text([phase], "issuances", "tokens received")
                )
                print(
                    "  CPU ratio no-op/token (server + database + Redis): "
                    f"{ratio(ping.cpu, phase.cpu):.0%}, the req/s ratio to expect when the server "
                    "alone has the CPUs"
                )
                if name == BASIC and dot_bench is not None:
                    theirs = rounds.add(
                        dot_bench.phase(
                            DOT, "/o/token/", [cc], dot_basic, conns, ok_marker=token_ok
                        )
                    )
                    print(
                        f"  ours/django-oauth-toolkit: {ratio(phase.rate, theirs.rate):.2f}× the "
                        f"req/s, {ratio(theirs.cpu, phase.cpu):.2f}× less CPU per token"
                    )
        summary_header(args.rounds)
        summarise(rounds[PING])
        for name in (BASIC, JWT):
            summarise(rounds[name], ceiling=rounds[PING], audit=("issuances", "tokens received"))
        if DOT in rounds:
            summarise(rounds[DOT], ceiling=rounds[PING])
            per_round = [
                ratio(o.rate, t.rate) for o, t in zip(rounds[BASIC], rounds[DOT], strict=True)
            ]
            cpu = [ratio(t.cpu, o.cpu) for o, t in zip(rounds[BASIC], rounds[DOT], strict=True)]
            print(
                f"ours/django-oauth-toolkit (client_secret_basic): "
                f"{statistics.median(per_round):.2f}× the req/s (per round "
                f"{', '.join(f'{r:.2f}' for r in per_round)}), CPU per token theirs/ours "
                f"{statistics.median(cpu):.2f}"
            )


def _dot_database(database: str, tmp: str) -> str:
    """django-oauth-toolkit's database: the same engine as ours, a database of its own."""
    if database == "sqlite":
        return f"sqlite://{tmp}/dot.sqlite3"
    subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", DOT_PG])
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DOT_PG], check=True)
    return f"postgres://postgres@127.0.0.1:5432/{DOT_PG}"


if __name__ == "__main__":
    main()
