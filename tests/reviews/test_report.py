"""The report: reviewers who keep everything fast, or nearly always, are flagged."""

from __future__ import annotations

import pytest

from governance.reviews.models import ReviewItem
from governance.reviews.selectors import reviewer_stats
from governance.reviews.services import (
    LineDecision,
    review_campaign_open,
    review_item_decide,
    review_item_sign_off,
)
from tests import factories as f

from .conftest import client_for

pytestmark = pytest.mark.django_db


def crowd(org, n: int) -> None:
    scope = f.ScopeFactory(name="wiki:read", sensitivity="low")
    for _ in range(n):
        f.ScopeGrantFactory(agent=f.AgentFactory(owner_team=org["blue"]), scope=scope)


def keep_all(item, by) -> None:
    decisions = {line.pk: LineDecision("keep", "fine") for line in item.lines.all()}
    review_item_decide(item=item, by=by, decisions=decisions)
    review_item_sign_off(item=item, by=by)


def test_a_fast_keeper_is_flagged_and_a_careful_one_is_not(org):
    crowd(org, 6)
    campaign = review_campaign_open(by=org["root"], coverage="team", team=org["blue"])
    careful = f.security_reviewer(username="careful")
    items = list(campaign.items.order_by("pk"))
    for item in items[:5]:
        keep_all(item, org["rita"])  # back to back: well under a second each
    keep_all(items[5], careful)
    stats = {s.username: s for s in reviewer_stats(campaign)}
    assert stats["rita"].items == 5 and stats["rita"].kept == 5
    assert any("under 1 s" in flag for flag in stats["rita"].flags)
    assert any("kept 100%" in flag for flag in stats["rita"].flags)
    assert stats["careful"].flags == ()  # one item: too few to judge

    # Slow sign-offs that still keep everything: flagged for the share only.
    ReviewItem.objects.filter(decided_by=org["rita"]).update(decision_seconds=90.0)
    rita = {s.username: s for s in reviewer_stats(campaign)}["rita"]
    assert rita.flags == ("kept 100% of lines",)

    page = client_for(org["root"]).get(f"/portal/reviews/campaigns/{campaign.pk}/report/")
    assert b"Rubber-stamping?" in page.content
    api = client_for(org["root"]).get(f"/api/v1/reviews/campaigns/{campaign.pk}/report").json()
    assert api["reviewers"][1]["flags"] == ["kept 100% of lines"]


def test_a_team_member_does_not_get_the_reviewers_statistics_from_the_api(org):
    """Issue 13 (found by the isolation matrix's review): the API's report gave every viewer of
    a campaign the reviewers' statistics over all of its items, other teams' included (how
    many each reviewer signed off, kept, flags); the portal's report shows them to reviewers
    and admins only. Over HTTP, as the owners of one agent of a campaign over two teams."""
    crowd(org, 5)
    campaign = review_campaign_open(by=org["root"], coverage="all")
    for item in campaign.items.filter(agent__owner_team=org["blue"]).order_by("pk"):
        keep_all(item, org["rita"])
    url = f"/api/v1/reviews/campaigns/{campaign.pk}/report"
    as_owner = client_for(org["alice"]).get(url)
    assert as_owner.status_code == 200
    assert as_owner.json()["reviewers"] == []
    assert {row[3] for row in as_owner.json()["rows"]} == {"red"}  # their own lines only
    as_reviewer = client_for(org["rita"]).get(url).json()
    assert [r["username"] for r in as_reviewer["reviewers"]] == ["rita"]
    assert as_reviewer["reviewers"][0]["items"] == 5


def test_the_schema_lists_the_review_routes(org):
    schema = client_for(org["root"]).get("/api/schema/", {"format": "json"}).json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/reviews/campaigns",
        "/api/v1/reviews/items/{id}/decide",
        "/api/v1/reviews/items/{id}/sign-off",
        "/api/v1/reviews/items/{id}/answer",
        "/api/v1/reviews/campaigns/{id}/report",
        "/api/v1/agents/{slug}/evidence",
    } <= paths
