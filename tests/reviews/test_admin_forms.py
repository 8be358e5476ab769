"""The admin (policy edits audited, items scoped to teams) and the portal's campaign form."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from governance.reviews.models import Campaign, ReviewItem, ReviewPolicy
from governance.reviews.services import review_campaign_open

from .conftest import client_for

pytestmark = pytest.mark.django_db


def test_the_policy_is_edited_in_the_admin_by_platform_admins_only(org):
    policy = ReviewPolicy.current()
    url = f"/admin/reviews/reviewpolicy/{policy.pk}/change/"
    admin = client_for(org["root"])
    form = admin.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(unused_days=30, ladder='{"low": [[0, "quarantine"]]}', schedule_enabled="on")
    refused = admin.post(url, data)
    assert refused.status_code == 200 and "Quarantine is for sensitive" in refused.content.decode()
    data["ladder"] = '{"low": [[0, "remind"], [10, "outcome"]]}'
    assert admin.post(url, data).status_code == 302
    policy.refresh_from_db()
    assert policy.unused_days == 30 and policy.steps_for("low") == [(0, "remind"), (10, "outcome")]
    entry = AuditEntry.objects.get(action="review.policy.update")
    assert entry.actor == "user:root" and entry.changes["unused_days"] == [60, 30]
    assert client_for(org["rita"]).get(url).status_code in (302, 403)


def test_the_item_admin_shows_lines_to_the_team_and_404s_others(org):
    campaign = review_campaign_open(by=org["root"])
    item = ReviewItem.objects.get(campaign=campaign)
    url = f"/admin/reviews/reviewitem/{item.pk}/change/"
    page = client_for(org["alice"]).get(url)
    assert page.status_code == 200 and "ledger:write" in page.content.decode()
    assert client_for(org["bob"]).get(url).status_code == 404
    rita = client_for(org["rita"])
    assert rita.get("/admin/reviews/campaign/").status_code == 200
    closed = rita.post(
        "/admin/reviews/campaign/",
        {"action": "close", "_selected_action": [campaign.pk], "select_across": "0"},
    )
    assert closed.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).state == "closed"
    assert AuditEntry.objects.filter(action="review.campaign.close").count() == 1


def test_opening_a_campaign_in_the_portal_with_field_errors(org):
    rita = client_for(org["rita"])
    assert rita.get("/portal/reviews/new/").status_code == 200
    bad = rita.post("/portal/reviews/new/", {"coverage": "team"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["team"] == ["a team campaign needs its team"]
    assert not Campaign.objects.exists()
    done = rita.post("/portal/reviews/new/", {"coverage": "team", "team": org["red"].pk})
    assert done.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.team == org["red"] and campaign.items.count() == 1
    assert client_for(org["alice"]).get("/portal/reviews/new/").status_code == 403
    # The owner sees the campaign of their agent in the workbench; Bob sees nothing of it.
    assert b"red-bot" in client_for(org["alice"]).get("/portal/reviews/").content
    assert campaign.name.encode() not in client_for(org["bob"]).get("/portal/reviews/").content


def test_the_read_only_pages_refuse_a_post(org):
    campaign = review_campaign_open(by=org["root"])
    rita = client_for(org["rita"])
    for url in (
        "/portal/reviews/",
        f"/portal/reviews/campaigns/{campaign.pk}/",
        f"/portal/reviews/campaigns/{campaign.pk}/report/",
        f"/portal/reviews/campaigns/{campaign.pk}/report.csv",
    ):
        assert rita.post(url).status_code == 405, url
