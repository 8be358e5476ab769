"""``check_access_token`` in-process: median latency and single-thread checks per second.

    .venv/bin/python bench/tokens_check.py                       # SQLite (a temp file)
    .venv/bin/python bench/tokens_check.py --database postgres   # database bench_tokens_check

Prints the cost of the signature and claim verification alone and of the whole check (the
signature plus the one query of live state), with warm key memos. Target for the decision
point: ≤ 300 µs median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = "postgres://postgres@127.0.0.1:5432/bench_tokens_check"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--samples", type=int, default=3000)
    args = ap.parse_args()
    os.environ["GOVERNANCE_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-check-")
    os.environ["OAUTH_ISSUER"] = "http://bench.test"
    if args.database == "postgres":
        subprocess.run(
            ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", "bench_tokens_check"]
        )
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-U", "postgres", "bench_tokens_check"], check=True
        )
        os.environ["DATABASE_URL"] = PG_URL
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    import django

    django.setup()
    from django.db import connection
    from tokens import _make_world

    from credentials.client_auth import ClientPrincipal
    from credentials.models import Credential
    from credentials.services import token_issue
    from credentials.token_check import check_access_token, verify_signature_and_claims

    agent, _, _ = _make_world("http://bench.test")
    credential = Credential.objects.select_related("agent").get(agent=agent, kind="client_secret")
    token = token_issue(client=ClientPrincipal(credential=credential, method="bench")).access_token
    assert check_access_token(token).active
    for _ in range(200):
        check_access_token(token)

    def median_us(fn) -> float:
        samples = []
        for _ in range(args.samples):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples) * 1e6

    verify = median_us(lambda: verify_signature_and_claims(token))
    full = median_us(lambda: check_access_token(token))
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < 3:
        check_access_token(token)
        n += 1
    load = os.getloadavg()[0]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')} {connection.vendor} (load average {load:.1f} "
        f"on {os.cpu_count()} CPUs): verify {verify:.0f} µs, full check {full:.0f} µs median, "
        f"{n / 3:,.0f} checks/s in one thread"
    )


if __name__ == "__main__":
    main()
