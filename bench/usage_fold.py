"""Benchmark: the usage aggregator folding N sequenced audit entries on PostgreSQL (≥ 20,000/s).

    .venv/bin/python bench/usage_fold.py [--entries 1000000] [--agents 10000] [--batch-size N]
                                         [--database usage_bench_fold] [--reuse]

Entries in the shapes the endpoints write (decisions with their requested action, tokens issued,
refused token requests, failed client authentications), spread over 30 days and many agents,
resources, actions and credentials, loaded already chained (``seq`` set) with COPY. Then the
aggregator folds them all as the beat task does, batch after batch, and the baselines fold the
closed hours. Prints entries/s, the folder's CPU and its PostgreSQL backend's CPU, and the time
of the access reviews' evidence selector for 1,000 agents.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import time

from _audit_common import prepare
from audit_verify import backend_cpu

RESOURCES = [f"resource-{i}" for i in range(20)]
ACTIONS = ["read", "write", "export"]
SPAN = dt.timedelta(days=30)


def generate(n: int, agents: int) -> None:
    from django.db import connection

    from agents.models import Agent, Team
    from audit.verifier import format_time

    team = Team.objects.create(slug="bench", name="Bench")
    Agent.objects.bulk_create(
        [
            Agent(slug=f"bench-{i}", display_name=f"Bench {i}", purpose="bench", owner_team=team)
            for i in range(agents)
        ],
        batch_size=5000,
    )
    rng = random.Random(7)
    start = dt.datetime.now(dt.UTC) - SPAN
    step = SPAN / n
    columns = (
        "id, created_at, actor, actor_id, on_behalf_of, action, outcome, reason, resource, "
        "target_type, target_id, workflow_run, token_jti, credential_id, request_id, source_ip, "
        "changes, context, seq, prev_hash, hash"
    )
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        # The entries arrive already chained, which the audit triggers refuse to an INSERT (only
        # the sequencer chains): off for the load, in this throw-away database only.
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        with cursor.cursor.copy(f"COPY audit_auditentry ({columns}) FROM STDIN") as copy:
            for i in range(1, n + 1):
                created = format_time(start + step * i)
                slug = f"bench-{rng.randrange(agents)}"
                credential = f"cred{slug[6:]}"
                roll = rng.random()
                action, outcome, resource, context = "decision", "success", "", {}
                actor = f"agent:{slug}"
                if roll < 0.80:
                    resource = RESOURCES[rng.randrange(len(RESOURCES))]
                    asked = ACTIONS[rng.randrange(len(ACTIONS))]
                    verdict = "allow" if rng.random() < 0.9 else "deny"
                    outcome = "success" if verdict == "allow" else "denied"
                    context = {
                        "decision": verdict,
                        "reasons": [] if verdict == "allow" else ["scope_not_granted"],
                        "log_only": [],
                        "requested_action": asked,
                        "cost": "0",
                        "trust": {"score": 80, "level": "trusted"},
                        "remaining": {"rate": None, "budget": None},
                        "approval_id": None,
                        "resource_server": resource,
                        "subject": actor,
                    }
                elif roll < 0.90:
                    action, resource = "token.issue", "http://localhost:8000 https://r.example"
                elif roll < 0.95:
                    action, outcome = "token.refuse", "denied"
                else:
                    action, outcome, resource = "client.authenticate", "failure", f"client:{slug}"
                    actor = "anonymous"
                copy.write_row(
                    (
                        i,
                        created,
                        actor,
                        "",
                        "[]",
                        action,
                        outcome,
                        "",
                        resource,
                        "",
                        "",
                        "",
                        f"jti-{i}",
                        credential,
                        f"req-{i}",
                        None,
                        "{}",
                        json.dumps(context),
                        i,
                        "0" * 64,
                        "0" * 64,
                    )
                )
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
        cursor.execute("SELECT setval('audit_auditentry_id_seq', %s)", [n])
        cursor.execute("ANALYZE audit_auditentry")
    print(
        f"generated {n:,} sequenced entries for {agents:,} agents in "
        f"{time.perf_counter() - t0:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--database", default="usage_bench_fold")
    parser.add_argument("--reuse", action="store_true", help="keep the generated entries")
    args = parser.parse_args()
    prepare(args.database, fresh=not args.reuse)
    if not args.reuse:
        generate(args.entries, args.agents)

    from django.db import connection

    from agents.models import Agent
    from trust.usage.baselines import baselines_update
    from trust.usage.fold import usage_fold
    from trust.usage.models import UsageHour, UsageTotal, UsageWatermark
    from trust.usage.selectors import usage_evidence

    with connection.cursor() as cursor:
        for table in ("trust_usagehour", "trust_usagetotal", "trust_usagebaseline"):
            cursor.execute(f"TRUNCATE {table}")
        cursor.execute("DELETE FROM trust_usagewatermark")
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    t0, cpu0, server0 = time.perf_counter(), time.process_time(), backend_cpu(backend)
    result = usage_fold(batch_size=args.batch_size)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    server = backend_cpu(backend) - server0
    print(
        f"folded {result.entries:,} entries in {result.batches} batches, {elapsed:.2f} s = "
        f"**{result.entries / elapsed:,.0f} entries/s** (load average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"folder CPU {cpu:.2f} s ({cpu / result.entries * 1e6:.1f} µs/entry), its backend "
        f"{server:.2f} s ({server / result.entries * 1e6:.1f} µs/entry); "
        f"{UsageHour.objects.count():,} hourly rows, {UsageTotal.objects.count():,} totals"
    )

    t0 = time.perf_counter()
    hours = baselines_update()
    print(f"baselines: {hours:,} closed hours folded in {time.perf_counter() - t0:.2f} s")

    ids = list(Agent.objects.order_by("pk").values_list("pk", flat=True)[:1000])
    t0 = time.perf_counter()
    evidence = usage_evidence(agent_ids=ids)
    print(
        f"evidence of use for {len(ids):,} agents: {time.perf_counter() - t0:.3f} s "
        f"({len(evidence.grants):,} grants, {len(evidence.credentials):,} credentials)"
    )
    mark = UsageWatermark.objects.get(name="usage")
    assert mark.position == args.entries, (mark.position, args.entries)


if __name__ == "__main__":
    main()
