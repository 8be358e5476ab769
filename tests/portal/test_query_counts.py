"""Every portal page costs the same number of queries with 10,000 agents as with a handful.

The pages are taken from the URL conf (``tests/routes.py``), so a new portal page is counted
the day it exists. Each is read twice as the owner and as the reviewer, before and after
10,000 agents (with a version each, half of them the owner's team's, one in ten with an
observed configuration awaiting review) are added: a page whose
count grows with the registry reads it row by row somewhere.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.test.utils import CaptureQueriesContext

from agents.drift.models import ObservedConfiguration
from agents.drift.services import configuration_observed
from agents.models import Agent, AgentVersion
from governance.decisions.services import decision_make
from tests import factories as f
from tests.decisions.conftest import make_world
from tests.routes import all_routes

from .conftest import client_for

pytestmark = pytest.mark.django_db

MANY = 10_000


@pytest.fixture
def world(settings):
    settings.RATE_LIMIT_BACKEND = "database"
    settings.RATE_LIMIT_PREFIX = f"test-portal-counts-{uuid.uuid4().hex}"
    w = make_world(level="pending", trust_floor="trusted")
    answer = decision_make(
        caller=w.resource, token=w.token(), action="read", resource=w.resource.slug
    )
    assert answer.decision == "approval_required"
    team = w.agent.owner_team
    grant = w.agent.grants.active().first()
    drift = configuration_observed(agent=w.agent, digest=f.digest("drift"), via="form")
    return {
        "agent": w.agent,
        "team": team,
        "owner": f.team_member(team, username="olive"),
        "reviewer": f.security_reviewer(username="rex"),
        "values": {
            "slug": w.agent.slug,
            "grant_id": grant.pk,
            "connection_id": w.connection.pk,
            "credential_id": w.agent_credential.pk,
            "configuration_id": drift.pk,
            "pk": answer.approval.pk,
            "action": "suspend",
            "notice_id": 0,
            "resource": w.resource.slug,
        },
    }


def _pages(values: dict) -> list[str]:
    return [
        route.url(**values)
        for route in all_routes()
        if route.template.startswith("portal/") and "logout" not in route.template
    ]


def _counts(users: list, urls: list[str]) -> dict[tuple[str, str], tuple[int, int]]:
    counts = {}
    for user in users:
        client = client_for(user)
        for url in urls:
            client.get(url)  # warm: sessions, per-process caches, first-use provisioning
            with CaptureQueriesContext(connection) as queries:
                status = client.get(url).status_code
            counts[(user.username, url)] = (status, len(queries))
    return counts


def _add_agents(world: dict) -> None:
    other = f.TeamFactory()
    agents = Agent.objects.bulk_create(
        Agent(
            slug=f"bulk-{i:05d}",
            display_name=f"Bulk agent {i}",
            purpose="Counted, not read.",
            owner_team=world["team"] if i % 2 else other,
        )
        for i in range(MANY)
    )
    AgentVersion.objects.bulk_create(
        AgentVersion(agent=agent, label="1.0.0", config_digest=f.digest(agent.slug))
        for agent in agents
    )
    ObservedConfiguration.objects.bulk_create(  # drift awaiting review on one agent in ten
        ObservedConfiguration(agent=agent, digest=f.digest(f"drift-{agent.slug}"), seen_via="form")
        for agent in agents[::10]
    )
    Agent.objects.filter(slug__startswith="bulk-").update(
        current_version=Subquery(AgentVersion.objects.filter(agent=OuterRef("pk")).values("pk")[:1])
    )


def test_every_portal_page_has_a_flat_query_count(world):
    users = [world["owner"], world["reviewer"]]
    urls = _pages(world["values"])
    assert len(urls) >= 15
    few = _counts(users, urls)
    assert all(status < 500 for status, _ in few.values()), few
    _add_agents(world)
    assert Agent.objects.count() > MANY
    many = _counts(users, urls)
    grown = {page: (few[page], many[page]) for page in few if few[page] != many[page]}
    assert not grown, f"(status, queries) with a few agents -> with {MANY:,}: {grown}"
