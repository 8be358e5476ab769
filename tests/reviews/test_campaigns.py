"""Opening campaigns: items, lines, evidence and recommendations; coverage; skipping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from governance.reviews.errors import ReviewForbidden, ReviewInvalid
from governance.reviews.models import Campaign, ReviewItem, ReviewLine
from governance.reviews.services import review_campaign_open
from tests import factories as f

pytestmark = pytest.mark.django_db


def lines_of(item) -> dict[str, ReviewLine]:
    return {line.label.split(" ")[0]: line for line in item.lines.all()}


def test_an_item_per_agent_with_evidence_and_recommendations(org):
    campaign = review_campaign_open(by=org["rita"], reviewers=[org["rita"]])
    assert campaign.state == Campaign.State.OPEN
    item = campaign.items.get()  # idle-bot holds nothing: skipped
    assert item.agent == org["bot"]
    assert item.risk == "sensitive"  # ledger:write is high
    lines = lines_of(item)
    assert lines["ledger:read"].recommendation == "keep"
    assert lines["ledger:read"].uses_30d == 4 and lines["ledger:read"].last_used_at
    assert lines["ledger:write"].recommendation == "revoke"
    assert "never used" in lines["ledger:write"].reason
    assert lines["ledger"].recommendation == "reduce"
    assert lines["ledger"].recommended_actions == ["read"]
    cred = lines[org["credential"].pk]
    assert cred.kind == "credential" and cred.uses_30d == 1 and cred.recommendation == "keep"
    entry = AuditEntry.objects.get(action="review.campaign.open")
    assert entry.changes["items"] == 1 and entry.changes["lines"] == 5


def test_coverage_team_and_sensitivity(org):
    theirs = f.AgentFactory(owner_team=org["blue"])
    f.ScopeGrantFactory(agent=theirs, scope=f.ScopeFactory(name="wiki:read"))
    team = review_campaign_open(by=org["root"], coverage="team", team=org["blue"])
    assert [i.agent for i in team.items.all()] == [theirs]
    high = review_campaign_open(by=org["root"], coverage="sensitivity", min_sensitivity="high")
    item = high.items.get()
    assert [line.label for line in item.lines.all()] == ["ledger:write"]


def test_bad_input_and_who_may_open(org):
    with pytest.raises(ReviewForbidden):
        review_campaign_open(by=org["alice"])
    with pytest.raises(ReviewInvalid) as err:
        review_campaign_open(by=org["rita"], coverage="team")
    assert err.value.field == "team"
    with pytest.raises(ReviewInvalid) as err:
        review_campaign_open(by=org["rita"], reviewers=[org["alice"]])
    assert err.value.field == "reviewers"
    past = timezone.now() - dt.timedelta(days=1)
    with pytest.raises(ReviewInvalid):
        review_campaign_open(by=org["rita"], due_at=past)
    assert not Campaign.objects.exists()


def test_opening_costs_the_same_queries_for_ten_or_forty_agents(org):
    def opened_with(agents: int) -> int:
        for _ in range(agents):
            agent = f.AgentFactory(owner_team=org["red"])
            f.ScopeGrantFactory(agent=agent, scope=org["grants"]["ledger:read"].scope)
            f.ConnectionFactory(agent=agent, resource=org["ledger"], allowed_actions=["read"])
        with CaptureQueriesContext(connection) as queries:
            review_campaign_open(by="system")
        return len(queries)

    opened_with(1)  # the policy rows are created on first use
    # SQLite caps the parameters of one INSERT, so bulk inserts go in batches of ~40 lines
    # there: a batch more, never a query per agent or grant.
    ten, thirty = opened_with(10), opened_with(30)
    assert thirty - ten <= (1 if connection.vendor == "sqlite" else 0)
    assert ReviewItem.objects.count() == 2 + 12 + 42
