"""Queries and time of the registry's admin changelist, API list and portal pages at 10,000 agents.

    .venv/bin/python bench/registry_lists.py [--agents 10000] [--repeat 5]

Builds a throwaway database (SQLite in a temp dir unless DATABASE_URL is set: point it at a
scratch PostgreSQL database, it is flushed), two teams, a team member and a reviewer, bulk-creates
the agents, then for each user times the admin changelist (100 rows a page),
``GET /api/v1/agents/`` (50 a page), the portal's dashboard and agents list through Django's
test client and counts their queries.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _scratch import scratch_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    scratch_django("registry-bench-")
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from agents.models import Agent
    from tests import factories as f

    team_a, team_b = f.TeamFactory(slug="bench-a"), f.TeamFactory(slug="bench-b")
    users = {
        "team member": f.team_member(team_a, username="bench-member"),
        "reviewer": f.security_reviewer(username="bench-reviewer"),
    }
    Agent.objects.bulk_create(
        (
            Agent(
                slug=f"bench-{i}",
                display_name=f"Bench {i}",
                purpose="Load.",
                owner_team=team_a if i % 2 else team_b,
            )
            for i in range(args.agents)
        ),
        batch_size=2000,
    )
    print(f"{args.agents} agents on {connection.vendor}")
    for label, user in users.items():
        client = Client()
        client.force_login(user)
        for name, url in [
            ("admin changelist", "/admin/agents/agent/"),
            ("API list", "/api/v1/agents/"),
            ("portal dashboard", "/portal/"),
            ("portal agents", "/portal/agents/"),
        ]:
            client.get(url)  # warm up
            times, queries = [], 0
            for _ in range(args.repeat):
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.status_code
                queries = len(ctx.captured_queries)
            print(
                f"  {label:12} {name:17} {queries:3d} queries, "
                f"median {statistics.median(times):7.1f} ms, max {max(times):7.1f} ms"
            )


if __name__ == "__main__":
    main()
