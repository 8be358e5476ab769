"""Deciding and signing off: one transaction, audited, separation of duties, owners answer."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from agents.models import Connection, ScopeGrant
from audit.models import AuditEntry
from credentials.models import Credential
from governance.reviews.errors import ReviewError, ReviewForbidden, ReviewInvalid
from governance.reviews.models import Campaign, ReviewItem
from governance.reviews.services import (
    LineDecision,
    review_campaign_open,
    review_item_answer,
    review_item_decide,
    review_item_sign_off,
)
from tests import factories as f
from tests.db import statements_refused

pytestmark = pytest.mark.django_db


def open_item(org, **kwargs) -> ReviewItem:
    campaign = review_campaign_open(by=org["root"], **kwargs)
    return campaign.items.get(agent=org["bot"])


def by_label(item):
    return {line.label.split(" ")[0]: line for line in item.lines.all()}


def test_accepting_the_recommendations_and_signing_off_applies_them(org):
    item = open_item(org)
    review_item_decide(item=item, by=org["rita"], accept_recommendations=True)
    review_item_sign_off(item=item, by=org["rita"])

    item.refresh_from_db()
    assert item.state == ReviewItem.State.SIGNED_OFF and item.outcome == "changed"
    grants = org["grants"]
    assert ScopeGrant.objects.get(pk=grants["ledger:write"].pk).status == "revoked"
    assert ScopeGrant.objects.get(pk=grants["ledger:export"].pk).status == "revoked"
    assert ScopeGrant.objects.get(pk=grants["ledger:read"].pk).status == "active"
    assert Connection.objects.get(pk=org["connection"].pk).allowed_actions == ["read"]
    results = {k: line.result for k, line in by_label(item).items()}
    assert results["ledger:write"] == "applied" and results["ledger:read"] == "kept"
    assert results["ledger"] == "applied"
    # Each change audited by its own service, naming the campaign and the item.
    revoke = AuditEntry.objects.get(action="grant.revoke", target_id=str(grants["ledger:write"].pk))
    assert (
        f"access review {item.campaign_id}" in revoke.reason and f"item {item.pk}" in revoke.reason
    )
    update = AuditEntry.objects.get(action="connection.update")
    assert f"item {item.pk}" in update.reason
    sign = AuditEntry.objects.get(action="review.item.sign_off")
    assert sign.changes["lines"]["grant:ledger:write"] == {
        "decision": "revoke",
        "result": "applied",
    }
    assert Campaign.objects.get(pk=item.campaign_id).state == "closed"  # its only item


def test_a_failure_mid_apply_rolls_the_whole_item_back(org):
    item = open_item(org)
    review_item_decide(item=item, by=org["rita"], accept_recommendations=True)
    # Grants are applied first; the connection's UPDATE then fails in the database.
    with statements_refused("agents_connection", on="UPDATE"), pytest.raises(DatabaseError):
        review_item_sign_off(item=item, by=org["rita"])
    item.refresh_from_db()
    assert item.state == ReviewItem.State.PENDING
    assert ScopeGrant.objects.get(pk=org["grants"]["ledger:write"].pk).status == "active"
    assert not AuditEntry.objects.filter(action__in=["grant.revoke", "review.item.sign_off"])
    assert all(not line.result for line in item.lines.all())
    review_item_sign_off(item=item, by=org["rita"])  # and it can be signed off afterwards
    assert ScopeGrant.objects.get(pk=org["grants"]["ledger:write"].pk).status == "revoked"


def test_separation_of_duties_and_roles(org):
    item = open_item(org)
    insider = f.security_reviewer(username="insider")
    org["red"].members.add(insider)
    for who in (insider, org["alice"], org["bob"]):
        with pytest.raises(ReviewForbidden):
            review_item_decide(item=item, by=who, accept_recommendations=True)
        with pytest.raises(ReviewForbidden):
            review_item_sign_off(item=item, by=who)
    named = open_item(org, coverage="team", team=org["red"], reviewers=[f.security_reviewer()])
    with pytest.raises(ReviewForbidden, match="not a reviewer of this campaign"):
        review_item_decide(item=named, by=org["rita"], accept_recommendations=True)


def test_keeping_an_unused_sensitive_grant_needs_a_comment(org):
    item = open_item(org)
    write = by_label(item)["ledger:write"]
    with pytest.raises(ReviewInvalid) as err:
        review_item_decide(item=item, by=org["rita"], decisions={write.pk: LineDecision("keep")})
    assert err.value.field == "comment"
    review_item_decide(
        item=item, by=org["rita"], decisions={write.pk: LineDecision("keep", "quarter-end only")}
    )
    grant = by_label(item)["ledger:read"]
    with pytest.raises(ReviewInvalid) as err:
        review_item_decide(item=item, by=org["rita"], decisions={grant.pk: LineDecision("reduce")})
    assert err.value.field == "decision"
    with pytest.raises(ReviewInvalid, match="decide every line"):
        review_item_sign_off(item=item, by=org["rita"])


def test_owners_answer_and_only_reviewers_decide(org):
    item = open_item(org)
    review_item_answer(item=item, by=org["alice"], justification="Month-end needs write.")
    item.refresh_from_db()
    assert item.owner_answer == "Month-end needs write." and item.answered_by == org["alice"]
    with pytest.raises(ReviewForbidden):
        review_item_answer(item=item, by=org["bob"], justification="not mine")
    with pytest.raises(ReviewInvalid):
        review_item_answer(item=item, by=org["alice"], justification="  ")


def test_a_signed_off_item_is_final(org):
    item = open_item(org)
    review_item_decide(item=item, by=org["rita"], accept_recommendations=True)
    review_item_sign_off(item=item, by=org["rita"])
    with pytest.raises(ReviewError):
        review_item_sign_off(item=item, by=org["rita"])
    cred = Credential.objects.get(pk=org["credential"].pk)
    assert cred.status == "active"  # used: kept
