"""Non-response by risk from beat, quarantine and its lifting, micro-reviews on events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agents.models import ScopeGrant
from audit.models import AuditEntry
from credentials.models import Credential
from governance.reviews.models import Campaign, ReviewItem, ReviewPolicy
from governance.reviews.services import (
    review_campaign_open,
    review_item_decide,
    review_item_sign_off,
    review_micro_open,
    reviews_micro_sweep,
    reviews_schedule_due,
)
from governance.reviews.tasks import run_ladder
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_the_ladder_of_a_sensitive_item_from_beat(org):
    campaign = review_campaign_open(by=org["root"])
    item = campaign.items.get()
    assert item.risk == "sensitive"  # reminders at -3 and 0, escalate 3, quarantine 7, outcome 14
    Campaign.objects.filter(pk=campaign.pk).update(due_at=timezone.now() - dt.timedelta(days=8))

    assert run_ladder.apply().get() == {"remind": 1, "escalate": 1, "quarantine": 1}
    assert run_ladder.apply().get() == {}  # idempotent
    from agents.notices.models import Notice

    assert Notice.objects.filter(kind="review.overdue", user=org["root"]).count() == 1
    assert Notice.objects.filter(kind="review.reminder", team=org["red"]).count() == 1
    assert Notice.objects.filter(kind="review.quarantine", team=org["red"]).count() == 1
    assert Notice.objects.filter(kind="review.assigned", user=org["rita"]).count() == 1
    item.refresh_from_db()
    cred = Credential.objects.get(pk=org["credential"].pk)
    assert cred.status == "suspended" and item.quarantined_credentials == [cred.pk]
    assert ScopeGrant.objects.filter(agent=org["bot"], status="active").count() == 3  # kept

    Campaign.objects.filter(pk=campaign.pk).update(due_at=timezone.now() - dt.timedelta(days=15))
    assert run_ladder.apply().get() == {"outcome": 1}
    item.refresh_from_db()
    assert item.state == "closed_by_policy" and item.outcome == "apply_recommendations"
    assert Credential.objects.get(pk=cred.pk).status == "active"  # quarantine lifted
    assert ScopeGrant.objects.get(pk=org["grants"]["ledger:write"].pk).status == "revoked"
    assert Campaign.objects.get(pk=campaign.pk).state == "closed"
    assert AuditEntry.objects.filter(action="review.item.close_by_policy").count() == 1
    from trust.models import ReviewOutcome

    outcome = ReviewOutcome.objects.get(agent=org["bot"])
    assert not outcome.certified and f"item {item.pk}" in outcome.reference


def test_signing_off_lifts_the_quarantine(org):
    campaign = review_campaign_open(by=org["root"])
    Campaign.objects.filter(pk=campaign.pk).update(due_at=timezone.now() - dt.timedelta(days=8))
    run_ladder.apply()
    item = campaign.items.get()
    review_item_decide(item=item, by=org["rita"], accept_recommendations=True)
    review_item_sign_off(item=item, by=org["rita"])
    assert Credential.objects.get(pk=org["credential"].pk).status == "active"


def test_a_low_risk_item_is_never_quarantined(org):
    low = f.AgentFactory(owner_team=org["blue"])
    f.ScopeGrantFactory(agent=low, scope=f.ScopeFactory(name="wiki:read", sensitivity="low"))
    from credentials.services import credential_issue

    cred = credential_issue(agent=low, by="system").credential
    campaign = review_campaign_open(by=org["root"], coverage="team", team=org["blue"])
    Campaign.objects.filter(pk=campaign.pk).update(due_at=timezone.now() - dt.timedelta(days=29))
    assert run_ladder.apply().get() == {"remind": 1, "escalate": 1}
    assert Credential.objects.get(pk=cred.pk).status == "active"
    Campaign.objects.filter(pk=campaign.pk).update(due_at=timezone.now() - dt.timedelta(days=31))
    run_ladder.apply()
    assert campaign.items.get().outcome == "no_change"
    assert ScopeGrant.objects.get(agent=low).status == "active"


def test_the_schedule_opens_a_campaign_when_due_and_not_before(org):
    now = timezone.now()
    first = reviews_schedule_due(now=now)
    assert first.kind == "scheduled" and first.items.count() == 1
    assert reviews_schedule_due(now=now + dt.timedelta(days=30)) is None
    ReviewPolicy.objects.filter(pk=1).update(every_days=20)
    assert reviews_schedule_due(now=now + dt.timedelta(days=21)) is not None


def test_micro_reviews_on_events(org, django_capture_on_commit_callbacks):
    pay = f.ScopeFactory(name="payments:initiate", sensitivity="critical")
    # A critical scope comes only through a request decided outside the team (governed grants).
    from governance.grants.services import grant_request_decide, grant_request_open

    asked = grant_request_open(
        agent=org["bot"],
        scope=pay,
        justification="pay runs",
        by=org["root"],
        expires_at=timezone.now() + dt.timedelta(days=30),
    )
    with django_capture_on_commit_callbacks(execute=True):
        grant_request_decide(request=asked, approve=True, by=org["rita"], comment="capped")
    micro = ReviewItem.objects.get(campaign__kind="micro", campaign__trigger="critical_grant")
    assert micro.agent == org["bot"] and micro.risk == "critical"
    assert review_micro_open(agent=org["bot"], trigger="critical_grant") == micro  # once

    from trust.services import trust_level_set

    trust_level_set(agent=org["idle"], score=10, level="untrusted", reason="t", by="system")
    trust_level_set(agent=org["bot"], score=80, level="trusted", reason="t", by="system")
    trust_level_set(agent=org["bot"], score=10, level="untrusted", reason="t", by="system")
    org["red"].members.remove(org["alice"])  # red has no member left
    assert reviews_micro_sweep() == {"team_inactive": 1, "untrusted": 1, "dormant": 0}
    assert reviews_micro_sweep() == {"team_inactive": 0, "untrusted": 0, "dormant": 0}
    untrusted = ReviewItem.objects.get(campaign__trigger="untrusted")
    assert untrusted.agent == org["bot"]  # idle-bot started untrusted and stayed: no drop
    # Signed off, it stays closed while the agent stays untrusted (no new drop past the mark).
    review_item_decide(item=untrusted, by=org["rita"], accept_recommendations=True)
    review_item_sign_off(item=untrusted, by=org["rita"])
    assert reviews_micro_sweep()["untrusted"] == 0
    assert review_micro_open(agent=org["idle"], trigger="dormant") is None  # nothing to review
