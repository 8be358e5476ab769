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
