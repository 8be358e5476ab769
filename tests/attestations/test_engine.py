"""End to end through the trust engine: a valid attestation (signed by joserfc) raises the
agent's score within its attestor's cap; refused ones, a revoked attestor and an expired
statement leave it where it was without them."""

from __future__ import annotations

import datetime as dt
import math
import time

import pytest
from django.utils import timezone

from trust.attestations.models import Attestor
from trust.attestations.services import attestation_submit, attestor_revoke
from trust.attestations.verify import Rejected
from trust.policy import policy_in_force
from trust.recompute import recompute_agents

from .conftest import submit
from .test_submit import ATTACKS

pytestmark = pytest.mark.django_db


def _score(agent, *, now=None) -> int:
    recompute_agents([agent.pk], now=now)
    agent.refresh_from_db()
    return agent.trust_score


def test_a_pass_raises_the_score_by_at_most_the_cap_and_a_revocation_takes_it_back(org, ed):
    agent = org["agent"]
    weight = policy_in_force().weight_attestations
    before = _score(agent)
    assert submit(ed.sign(agent)).status_code == 201
    assert submit(ed.sign(agent, claim_type="config_scan")).status_code == 201
    raised = _score(agent)
    # cap 20 of the component's 100 points, weighted; the score is rounded once, at the end
    assert round(weight * 20 / 100) - 1 <= raised - before <= math.ceil(weight * 20 / 100)
    assert raised > before
    attestor_revoke(attestor=Attestor.objects.get(name=ed.name), by="system", reason="retired")
    assert _score(agent) == before


def test_a_fail_replaces_the_pass(org, ed):
    agent = org["agent"]
    before = _score(agent)
    now = int(time.time())
    attestation_submit(jws=ed.sign(agent, iat=now - 60))
    assert _score(agent) > before
    attestation_submit(jws=ed.sign(agent, iat=now - 30, result="fail"))
    assert _score(agent) == before


def test_expiry_takes_the_points_back(org, ed):
    agent = org["agent"]
    before = _score(agent)
    attestation_submit(jws=ed.sign(agent, exp=int(time.time()) + 600))
    assert _score(agent) > before
    assert _score(agent, now=timezone.now() + dt.timedelta(hours=1)) == before


@pytest.mark.parametrize(
    "attack",
    [
        "forged",
        "expired",
        "wrong_subject",
        "wrong_algorithm",
        "alg_none",
        "hs256_public_key_as_secret",
        "disallowed_claim_type",
        "embedded_jwk",
    ],
)
def test_refused_statements_change_no_score(org, ed, attack):
    agent = org["agent"]
    before = _score(agent)
    make, code = ATTACKS[attack]
    with pytest.raises(Rejected) as refused:
        attestation_submit(jws=make(ed, agent))
    assert refused.value.code == code
    assert _score(agent) == before


def test_two_attestors_add_up_each_within_its_cap(org, ed, ec):
    agent = org["agent"]
    weight = policy_in_force().weight_attestations
    before = _score(agent)
    attestation_submit(jws=ed.sign(agent))
    attestation_submit(jws=ec.sign(agent, claim_type="config_scan"))
    gained = _score(agent) - before
    assert round(weight * 35 / 100) - 1 <= gained <= math.ceil(weight * 35 / 100)
