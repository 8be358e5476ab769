"""An accepted attestation raises the engine's score within its attestor's cap."""

from __future__ import annotations

import pytest

from trust.attestations.models import Attestor
from trust.attestations.services import attestor_revoke
from trust.models import TrustComputation
from trust.recompute import recompute_agents

from .conftest import submit

pytestmark = pytest.mark.django_db


def _attestations(agent) -> dict:
    recompute_agents([agent.pk])
    latest = TrustComputation.objects.filter(agent=agent).first()
    rows = [f for f in latest.factors if f["component"] == "attestations"]
    return {"score": latest.score, "points": sum(f["points"] for f in rows), "rows": rows}


def test_pass_raises_within_cap_fail_and_revoked_do_not(org, ed, ec):
    agent = org["agent"]
    before = _attestations(agent)
    assert [r["status"] for r in before["rows"]] == ["insufficient_data"]
    assert submit(ed.sign(agent)).status_code == 201
    after = _attestations(agent)
    # cap 20 of the component's 100 points, at the default weight 15: +3 to the score
    assert after["points"] == pytest.approx(3.0)
    assert after["score"] == before["score"] + 3
    attestor_revoke(attestor=Attestor.objects.get(name=ed.name), by=org["root"], reason="key leak")
    assert _attestations(agent)["score"] == before["score"]
