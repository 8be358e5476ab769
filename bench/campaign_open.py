"""Opening an access review campaign over many agents and grants; the item page's queries.

    .venv/bin/python bench/campaign_open.py [--agents 10000] [--grants 50000] [--repeat 3]

Target (issue 11): 10,000 agents and 50,000 grants on PostgreSQL in at most 30 s, with the
item page's query count flat. Builds a throwaway database (SQLite in a temp dir unless
DATABASE_URL is set: point it at a scratch PostgreSQL database, it is flushed), bulk-creates the
agents, their grants, a connection and a credential row each, and usage counters for a third of
the grants (so that recommendations differ), then times ``review_campaign_open`` (one
transaction: the campaign, every item and line, one audit entry) and counts its queries. Each
repetition opens a new campaign over the same organisation. Last, it counts the queries of
two item pages of different sizes through Django's test client.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

from _scratch import scratch_django


def build(agents: int, grants: int) -> None:
    """The organisation, in bulk: agents on 4 teams, ``grants`` spread over 20 scopes."""
    from django.utils import timezone

    from agents.models import Agent, Connection, Resource, Scope, ScopeGrant
    from credentials.models import Credential
    from tests import factories as f
    from trust.usage.models import UsageTotal

    teams = [f.TeamFactory(slug=f"bench-{t}") for t in range(4)]
    resource = Resource.objects.create(
        slug="bench-ledger", name="Ledger", audience="https://bench-ledger.example.test"
    )
    sens = ["low", "medium", "high", "critical"]
    scopes = [
        Scope.objects.create(name=f"bench-ledger:a{i}", sensitivity=sens[i % 4]) for i in range(20)
    ]
    Agent.objects.bulk_create(
        (
            Agent(
                slug=f"bench-{i}",
                display_name=f"Bench {i}",
                purpose="Load.",
                owner_team=teams[i % 4],
            )
            for i in range(agents)
        ),
        batch_size=2000,
    )
    ids = list(Agent.objects.order_by("pk").values_list("pk", flat=True))
    per = max(1, grants // len(ids))
    ScopeGrant.objects.bulk_create(
        (
            ScopeGrant(agent_id=pk, scope=scopes[(n + j) % 20], justification="bench")
            for n, pk in enumerate(ids)
            for j in range(per)
        ),
        batch_size=5000,
    )
    # The first agent holds every scope, so the item pages compared below differ in size.
    ScopeGrant.objects.bulk_create(
        ScopeGrant(agent_id=ids[0], scope=scope, justification="bench") for scope in scopes[per:]
    )
    Connection.objects.bulk_create(
        (
            Connection(agent_id=pk, resource=resource, allowed_actions=["a0", "a1", "a2"])
            for pk in ids
        ),
        batch_size=5000,
    )
    Credential.objects.bulk_create(
        (Credential(id=f"cb{pk:08d}", agent_id=pk, kind="client_secret") for pk in ids),
        batch_size=5000,
    )
    now = timezone.now()
    UsageTotal.objects.bulk_create(
        (
            UsageTotal(
                agent_id=pk,
                resource="bench-ledger",
                action=f"a{n % 20}",
                credential_id=f"cb{pk:08d}",
                first_at=now - dt.timedelta(days=100),
                last_at=now - dt.timedelta(days=n % 90),
                last_used_at=now - dt.timedelta(days=n % 90),
            )
            for n, pk in enumerate(ids)
            if n % 3 == 0
        ),
        batch_size=5000,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--grants", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    scratch_django("campaign-bench-")
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from agents.models import ScopeGrant
    from governance.reviews.models import ReviewItem, ReviewLine
    from governance.reviews.services import review_campaign_open
    from tests import factories as f

    started = time.perf_counter()
    build(args.agents, args.grants)
    grants = ScopeGrant.objects.count()
    print(
        f"{args.agents} agents, {grants} grants on {connection.vendor} "
        f"(built in {time.perf_counter() - started:.1f} s)"
    )
    reviewer = f.security_reviewer(username="bench-reviewer")
    times = []
    for _ in range(args.repeat):
        # Timed without capturing queries: Django's query log quotes every parameter of every
        # bulk INSERT on SQLite, which costs more than the INSERT.
        started, cpu = time.perf_counter(), time.process_time()
        campaign = review_campaign_open(by=reviewer)
        times.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu
        items = ReviewItem.objects.filter(campaign=campaign).count()
        lines = ReviewLine.objects.filter(item__campaign=campaign).count()
        print(f"open: {times[-1]:.2f} s ({cpu:.2f} s CPU here), {items} items, {lines} lines")
    with CaptureQueriesContext(connection) as ctx:
        review_campaign_open(by=reviewer)
    print(f"open: {len(ctx.captured_queries)} queries (one more run, counted)")
    print(f"open median {statistics.median(times):.2f} s (target <= 30 s on PostgreSQL)")

    client = Client()
    client.force_login(reviewer)
    counts = []
    for item in (
        ReviewItem.objects.filter(campaign=campaign).order_by("pk").first(),
        ReviewItem.objects.filter(campaign=campaign).order_by("-pk").first(),
    ):
        url = f"/portal/reviews/items/{item.pk}/"
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append((item.lines.count(), len(ctx.captured_queries)))
    print("item page: " + ", ".join(f"{n} lines -> {q} queries" for n, q in counts))


if __name__ == "__main__":
    main()
