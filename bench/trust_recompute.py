"""Benchmark: full trust recomputation of N agents with M audit entries on PostgreSQL.

    .venv/bin/python bench/trust_recompute.py [--agents 100000] [--entries 1000000]
                                              [--database trust_bench_recompute] [--reuse]
                                              [--workers 2]

Target (issue 10): 100,000 agents with 1,000,000 audit entries in ≤ 60 s, with flat memory.
Set-up (not timed): the usage benchmark's agents and sequenced entries (``usage_fold.generate``),
folded into the usage facts and baselines; each agent gets a reviewed current version, a
credential (a key for one in four) and a grant (sensitive for one in ten; one in twenty without
an expiry). Then ``recompute_all(workers=2)`` runs twice: the spans of 2,000 agents spread over
two processes, as the beat task spreads them over the two processes of ``bin/up``'s Celery
worker (``--workers 1``: all in this process). The first run writes every agent's first history
row and score; the second finds nothing changed and writes nothing.
Prints the time of each run, agents/s, and the process's resident memory before, after and at
its peak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time

from _audit_common import prepare, rss_mb


def peak_mb() -> float:
    """The largest resident set of this process or of any worker process it has waited for."""
    return (
        max(
            resource.getrusage(who).ru_maxrss
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        / 1024
    )


def furnish() -> None:
    """Versions, credentials and grants for every bench agent, in bulk."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from agents.models import Agent, AgentVersion, Scope, ScopeGrant, Team
    from agents.permissions import team_group
    from credentials.models import Credential
    from tests.factories import digest

    team = Team.objects.get(slug="bench")
    group = team_group(team)
    user = get_user_model().objects.create(username="bench-sponsor")
    user.groups.add(group)
    low = Scope.objects.create(name="resource-1:read", sensitivity="low")
    high = Scope.objects.create(name="resource-2:export", sensitivity="high")
    now = dt.datetime.now(dt.UTC)
    ids = list(Agent.objects.order_by("pk").values_list("pk", flat=True))
    t0 = time.perf_counter()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        versions = AgentVersion.objects.bulk_create(
            AgentVersion(agent_id=a, label="1.0", config_digest=digest(str(a)), reviewed=True)
            for a in chunk
        )
        through = AgentVersion.requested_scopes.through
        through.objects.bulk_create(
            through(agentversion_id=v.pk, scope_id=low.pk) for v in versions
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE agents_agent SET current_version_id = %s WHERE id = %s",
                [(v.pk, v.agent_id) for v in versions],
            )
        Credential.objects.bulk_create(
            Credential(
                id=f"cred{a}",
                agent_id=a,
                kind="public_key" if a % 4 == 0 else "client_secret",
                secret_hmac="0" * 64,
                created_at=now - dt.timedelta(days=a % 120),
                not_before=now - dt.timedelta(days=a % 120),
            )
            for a in chunk
        )
        ScopeGrant.objects.bulk_create(
            ScopeGrant(
                agent_id=a,
                scope=high if a % 10 == 0 else low,
                justification="bench",
                expires_at=None if a % 20 == 0 else now + dt.timedelta(days=30),
            )
            for a in chunk
        )
    print(f"furnished {len(ids):,} agents in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database", default="trust_bench_recompute")
    parser.add_argument("--reuse", action="store_true", help="keep the generated world")
    parser.add_argument("--workers", type=int, default=2, help="processes for the spans")
    args = parser.parse_args()
    prepare(args.database, fresh=not args.reuse)
    if not args.reuse:
        from usage_fold import generate

        from trust.usage.baselines import baselines_update
        from trust.usage.fold import usage_fold

        generate(args.entries, args.agents)
        furnish()
        t0 = time.perf_counter()
        usage_fold()
        baselines_update()
        print(f"usage facts folded in {time.perf_counter() - t0:.1f} s (not timed below)")

    from django.db import connection
    from django.db.models import Count

    from agents.models import Agent
    from trust.models import TrustComputation
    from trust.recompute import recompute_all

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE trust_trustcomputation")
        cursor.execute("UPDATE agents_agent SET trust_score = 0, trust_level = 'untrusted'")
    timings = {}
    for run in ("first", "steady"):
        before = rss_mb()
        t0 = time.perf_counter()
        summary = recompute_all(workers=args.workers)
        elapsed = timings[run] = time.perf_counter() - t0
        print(
            f"{run} run: {summary.agents:,} agents in {elapsed:.2f} s = "
            f"**{summary.agents / elapsed:,.0f} agents/s**; {summary.written:,} history rows, "
            f"{summary.updated:,} agents updated, {summary.level_changes:,} level changes; "
            f"RSS {before:.0f} -> {rss_mb():.0f} MB (peak {peak_mb():.0f} MB)"
        )
    levels = dict(Agent.objects.values_list("trust_level").annotate(n=Count("pk")).order_by())
    print(f"levels: {levels}; history rows: {TrustComputation.objects.count():,}")
    # The last line is the summary bench/run reports.
    print(
        f"{summary.agents:,} agents, {args.entries:,} entries, {args.workers} processes: "
        f"first run {timings['first']:.1f} s, "
        f"steady run {timings['steady']:.1f} s; peak RSS {peak_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
