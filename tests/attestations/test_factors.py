"""``attestation_factors``: what counts, how much, and in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories as f
from trust.attestations.models import Attestation
from trust.attestations.selectors import agent_attestations, attestation_factors
from trust.attestations.services import attestation_submit, attestor_change
from trust.factors import FactorStatus

from .signers import p256_signer, register

pytestmark = pytest.mark.django_db


def _one(agent, at=None):
    return attestation_factors([agent.pk], at=at or timezone.now())[agent.pk]


def test_every_agent_asked_for_is_a_key(org):
    other = f.AgentFactory()
    assert attestation_factors([org["agent"].pk, other.pk], at=timezone.now()) == {
        org["agent"].pk: [],
        other.pk: [],
    }


def test_a_mix_earns_the_share_that_passed(org, ed):
    agent = org["agent"]
    attestation_submit(jws=ed.sign(agent, claim_type="security_audit", result="pass"))
    attestation_submit(jws=ed.sign(agent, claim_type="config_scan", result="fail"))
    [factor] = _one(agent)
    assert (factor.status, factor.earned, factor.possible) == (FactorStatus.PARTIAL, 10, 20)
    assert factor.code == "attestation_mixed"
    assert (
        factor.improve.startswith("resolve what") and "+" not in factor.improve
    )  # the engine adds the points


def test_two_attestors_each_within_their_own_cap(org, ed, ec):
    agent = org["agent"]
    attestation_submit(jws=ed.sign(agent))
    attestation_submit(jws=ec.sign(agent, claim_type="config_scan"))
    factors = _one(agent)
    assert sorted((x.earned, x.possible) for x in factors) == [(15, 15), (20, 20)]


def test_expired_statements_count_nothing(org, ed):
    agent = org["agent"]
    attestation_submit(jws=ed.sign(agent, exp=int(time.time()) + 3600))
    assert _one(agent)[0].earned == 20
    later = timezone.now() + dt.timedelta(hours=2)
    assert _one(agent, at=later) == []
    [listed] = agent_attestations(agent, at=later)
    assert not listed.counts and "expired" in listed.note


def test_an_older_pass_still_counts_when_a_newer_one_expired(org, ed):
    agent = org["agent"]
    now = int(time.time())
    attestation_submit(jws=ed.sign(agent, iat=now - 200, exp=now + 86400))
    attestation_submit(jws=ed.sign(agent, iat=now - 100, result="fail", exp=now + 60))
    assert _one(agent)[0].status == FactorStatus.UNMET
    later = timezone.now() + dt.timedelta(minutes=5)
    assert _one(agent, at=later)[0].status == FactorStatus.MET


def test_a_statement_about_another_configuration_earns_nothing(org, ed):
    agent = org["agent"]
    attestation_submit(jws=ed.sign(agent, config_digest="sha256:" + "0" * 64))
    [factor] = _one(agent)
    assert (factor.status, factor.earned) == (FactorStatus.INSUFFICIENT_DATA, 0)
    assert "current configuration" in factor.improve
    attestation_submit(
        jws=ed.sign(
            agent, claim_type="config_scan", config_digest=agent.current_version.config_digest
        )
    )
    [factor] = _one(agent)
    assert (factor.status, factor.earned) == (FactorStatus.MET, 20)
    assert "not counted" in factor.sentence


def test_a_claim_type_taken_away_stops_counting(org, ed):
    agent = org["agent"]
    attestation_submit(jws=ed.sign(agent, claim_type="config_scan"))
    attestor = Attestation.objects.get().attestor
    attestor_change(
        attestor=attestor, by="system", reason="scope cut", claim_types=["security_audit"]
    )
    assert _one(agent) == []


def test_query_count_is_flat(org, ed):
    def statements(n):
        agents = [f.AgentFactory() for _ in range(n)]
        for agent in agents:
            attestation_submit(jws=ed.sign(agent))
        return [a.pk for a in agents]

    few, many = statements(2), statements(20)
    counts = []
    for ids in (few, many):
        with CaptureQueriesContext(connection) as queries:
            result = attestation_factors(ids, at=timezone.now())
        counts.append(len(queries))
        assert all(len(result[i]) == 1 for i in ids)
    assert counts == [1, 1]


def test_a_p256_key_registered_with_its_own_kid(org):
    signer = p256_signer("kidded")
    register(signer, kid="scanner-2026", claim_types=["config_scan"])
    jws = signer.sign(org["agent"], header={"kid": "scanner-2026"}, claim_type="config_scan")
    assert attestation_submit(jws=jws).attestor.name == "kidded"


def test_a_failed_attestation_tells_the_owning_team(org, ed):
    from agents.notices.models import Notice

    agent = org["agent"]
    attestation_submit(jws=ed.sign(agent))
    assert not Notice.objects.exists()
    failed = attestation_submit(jws=ed.sign(agent, claim_type="config_scan", result="fail"))
    notice = Notice.objects.get()
    assert (notice.kind, notice.team) == ("attestation.failed", org["red"])
    assert notice.link == f"/portal/agents/{agent.slug}/"
    assert "configuration scan failed" in notice.subject
    assert failed.pk
