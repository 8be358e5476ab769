"""Benchmark: ``audit verify`` over N chained entries on PostgreSQL (speed and flat memory).

    .venv/bin/python bench/audit_verify.py [--entries 1000000] [--database audit_bench_verify]

Rows are generated with real hashes (the sequencer's own function) and loaded with COPY, then
the whole chain and its checkpoints are walked exactly as ``manage.py audit verify`` does. RSS is
sampled while the walk runs: it stays flat because the walk streams a server-side cursor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import threading
import time
from pathlib import Path

from _audit_common import prepare, rss_mb


def backend_cpu(pid: int) -> float:
    """CPU seconds a local PostgreSQL backend has used (utime + stime from /proc)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def generate(n: int) -> None:
    from django.db import connection

    from audit.verifier import GENESIS, entry_hash, format_time

    start = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
    prev = GENESIS
    columns = (
        "id, created_at, actor, actor_id, on_behalf_of, action, outcome, reason, resource, "
        "target_type, target_id, workflow_run, token_jti, credential_id, request_id, source_ip, "
        "changes, context, seq, prev_hash, hash"
    )
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        # Rows arrive already chained, which the insert trigger refuses to anyone but this
        # benchmark's superuser with the table's user triggers off for the load.
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        raw = cursor.cursor
        with raw.copy(f"COPY audit_auditentry ({columns}) FROM STDIN") as copy:
            for i in range(1, n + 1):
                created = start + dt.timedelta(milliseconds=37 * i)
                actor = f"agent:bot-{i % 50}"
                changes = {"amount": i % 997, "currency": "EUR"}
                values = (
                    i,
                    format_time(created),
                    actor,
                    "",
                    [],
                    "decision.allow",
                    "success",
                    "",
                    f"resource-{i % 20}",
                    "",
                    "",
                    f"workflow:run-{i % 7}",
                    f"jti-{i}",
                    "17",
                    f"req-{i}",
                    "10.0.0.1",
                    changes,
                    {},
                )
                digest = entry_hash(values, prev)
                copy.write_row(
                    (
                        i,
                        created,
                        actor,
                        "",
                        "[]",
                        "decision.allow",
                        "success",
                        "",
                        f"resource-{i % 20}",
                        "",
                        "",
                        f"workflow:run-{i % 7}",
                        f"jti-{i}",
                        "17",
                        f"req-{i}",
                        "10.0.0.1",
                        json.dumps(changes),
                        "{}",
                        i,
                        prev,
                        digest,
                    )
                )
                prev = digest
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
        cursor.execute("SELECT setval('audit_auditentry_id_seq', %s)", [n])
        cursor.execute("ANALYZE audit_auditentry")
    print(f"generated {n:,} chained entries in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database", default="audit_bench_verify")
    parser.add_argument("--reuse", action="store_true", help="keep the generated rows")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    prepare(args.database, fresh=not args.reuse)
    if not args.reuse:
        generate(args.entries)

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from audit.services import checkpoint_create
    from audit.verification import verify_database

    # One key per benchmark database, kept beside it, so --reuse still verifies old checkpoints.
    key_file = Path(tempfile.gettempdir()) / f"{args.database}.key.pem"
    if args.reuse and key_file.exists():
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    checkpoint_create(
        signer=lambda c: jwt.encode(
            c, key, "ES256", headers={"kid": "b", "typ": "audit-checkpoint+jwt"}
        ),
        force=True,
    )
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**jwk, "kid": "b", "alg": "ES256"}]}

    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_mb())
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    before = rss_mb()
    sampler.start()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    t0, cpu0, server0 = time.perf_counter(), time.process_time(), backend_cpu(backend)
    report = verify_database(jwks=jwks, workers=args.workers)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    server = backend_cpu(backend) - server0
    done.set()
    sampler.join()
    print("\n".join(report.lines()))
    print(
        f"verified {report.entries:,} entries in {elapsed:.1f} s = "
        f"{report.entries / elapsed:,.0f} entries/s"
    )
    if report.workers > 1:
        print(f"{report.workers} worker processes (their RSS is not in the figures below)")
    if report.workers == 1:  # the machine is shared: CPU time is the load-independent figure
        print(
            f"verifier process CPU: {cpu:.1f} s = {report.entries / cpu:,.0f} entries per "
            f"CPU-second (load average {os.getloadavg()[0]:.1f}); its PostgreSQL backend: "
            f"{server:.1f} CPU-s. The two overlap (rows are prefetched in a thread), so on two "
            f"free cores the walk takes about max(verifier, backend), not their sum"
        )
    quarter = samples[len(samples) // 4] if samples else before
    print(
        f"RSS: {before:.0f} MB before, {quarter:.0f} MB at 25 %, max {max(samples or [before]):.0f}"
        f" MB, {samples[-1] if samples else before:.0f} MB at the end"
    )


if __name__ == "__main__":
    main()
