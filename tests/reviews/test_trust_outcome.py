"""A signed-off review is reported to the trust engine, whose compliance signal reads it."""

from __future__ import annotations

import pytest

from governance.reviews.services import review_item_decide, review_item_sign_off
from trust.models import ReviewOutcome, TrustComputation
from trust.recompute import recompute_agents

from .test_decide import open_item

pytestmark = pytest.mark.django_db


def test_sign_off_records_a_certified_outcome_for_the_compliance_signal(org):
    item = open_item(org)
    review_item_decide(item=item, by=org["rita"], accept_recommendations=True)
    review_item_sign_off(item=item, by=org["rita"])
    outcome = ReviewOutcome.objects.get(agent=org["bot"])
    assert outcome.certified and f"item {item.pk}" in outcome.reference
    recompute_agents([org["bot"].pk])
    factors = {f["code"]: f for f in TrustComputation.objects.get(agent=org["bot"]).factors}
    assert factors["access_review_certified"]["status"] == "met"
