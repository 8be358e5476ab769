"""The agent page's trust panel: attestations, usage per grant, credentials with their use;
the same number of queries however much there is to show; another team's agent is a 404."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credentials.services import credential_issue
from tests import factories as f
from tests.attestations.signers import ed25519_signer, register
from tests.usage.history import History
from trust.attestations.services import attestation_submit, attestor_revoke
from trust.models import TrustComputation
from trust.recompute import recompute_agents
from trust.services import trust_pin
from trust.usage.fold import usage_fold

from .conftest import client_for

pytestmark = pytest.mark.django_db


def _page(user, agent):
    return client_for(user).get(f"/portal/agents/{agent.slug}/")


def test_attestations_say_whether_they_count(org):
    agent = org["ours"]
    good, gone = ed25519_signer("acme-audit"), ed25519_signer("old-audit")
    register(good, cap=20)
    register(gone, cap=10)
    attestation_submit(jws=good.sign(agent))
    attestation_submit(jws=good.sign(agent, claim_type="config_scan", result="fail"))
    attestation_submit(jws=gone.sign(agent))
    attestor_revoke(attestor=gone_attestor(gone), by="system", reason="retired")

    html = _page(org["alice"], agent).content.decode()

    assert "Acme Audit" in html and "Old Audit" in html
    assert "Security audit" in html and "Configuration scan" in html
    assert 'class="badge result-fail"' in html
    assert "no — the attestor was revoked" in html
    assert html.count(">yes<") == 2


def gone_attestor(signer):
    from trust.attestations.models import Attestor

    return Attestor.objects.get(name=signer.name)


def test_usage_per_grant_and_credential(org):
    agent = org["ours"]
    f.ScopeGrantFactory(agent=agent, scope=org["read"])
    issued = credential_issue(agent=agent, by="system")
    now = timezone.now()
    History().decision(
        agent, now - dt.timedelta(days=3), resource="ledger", action="read", times=4
    ).token(agent, now - dt.timedelta(days=2), credential=issued.credential.pk, times=2).write()
    usage_fold()

    html = _page(org["alice"], agent).content.decode()

    grant_row = html.split('data-grant="ledger:read"')[1].split("</tr>")[0]
    assert "4 / 4" in grant_row
    assert (now - dt.timedelta(days=3)).strftime("%Y-%m-%d") in grant_row
    credential_row = html.split(f'data-credential="{issued.credential.pk}"')[1].split("</tr>")[0]
    assert "<td>2</td>" in credential_row
    assert "counted from the audit log up to" in html


def test_empty_states_say_what_fills_them(org):
    html = _page(org["alice"], org["ours"]).content.decode()
    assert "No attestations. A registered attestor" in html


def test_other_teams_agent_is_404(org):
    assert _page(org["bob"], org["ours"]).status_code == 404
    assert _page(org["rita"], org["ours"]).status_code == 200


def _fill(agent, n: int, signer) -> None:
    scopes = [f.ScopeFactory(name=f"res{agent.pk}x{i}:read") for i in range(n)]
    for scope in scopes:
        f.ScopeGrantFactory(agent=agent, scope=scope)
    for _ in range(n):
        credential_issue(agent=agent, by="system")
        attestation_submit(jws=signer.sign(agent, iat=int(time.time()) - 300))
    version = f.AgentVersionFactory(agent=agent)
    agent.current_version = version
    agent.save(update_fields=["current_version"])


def test_query_count_is_flat(org):
    signer = ed25519_signer()
    register(signer)
    small, large = org["ours"], f.AgentFactory(slug="red-big", owner_team=org["red"])
    _fill(small, 1, signer)
    _fill(large, 12, signer)
    counts = []
    for agent in (small, large):
        client = client_for(org["alice"])
        client.get(f"/portal/agents/{agent.slug}/")  # warm the session and per-process caches
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/portal/agents/{agent.slug}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# -- the engine's outcome: breakdown, pin, history chart ------------------------------------


def test_breakdown_in_words_with_what_would_raise_it(org):
    agent = org["ours"]
    signer = ed25519_signer()
    register(signer, cap=20)
    attestation_submit(jws=signer.sign(agent))
    recompute_agents([agent.pk])
    agent.refresh_from_db()

    html = _page(org["alice"], agent).content.decode()

    assert f'<span class="trust-score">{agent.trust_score}</span>' in html
    assert "Why this score" in html
    for label in ("Identity", "Behaviour", "Compliance posture", "Attestations"):
        assert f'<h4 class="component">{label}:' in html
    assert "Attestations: 3 of 15 points" in html  # the attestor's cap of 20 of 100, weight 15
    assert "What would raise the score" in html and "To improve:" in html
    assert 'role="img"' in html and "Trust score of red-bot over time" in html
    assert html.count('class="chart-point"') == 1
    assert "Pinned" not in html


def test_a_pin_is_shown_as_a_pin_never_as_a_score(org):
    agent = org["ours"]
    recompute_agents([agent.pk])
    trust_pin(agent=agent, level="trusted", reason="supervised pilot", by=org["rita"])
    recompute_agents([agent.pk])
    agent.refresh_from_db()

    html = _page(org["alice"], agent).content.decode()

    pin = html.split('class="pin"')[1].split("</div>")[0]
    assert "Level pinned at" in pin and "Trusted" in pin
    assert "supervised pilot" in pin and "rita" in pin
    now_line = html.split('class="trust-now"')[1].split("</p>")[0]
    assert "computed: untrusted" in now_line  # the score is the computed one, said as such
    assert "badge trust-trusted" not in now_line  # the pinned level is not dressed as a score
    assert "pinned)" in html  # the chart's point says it was pinned
    assert "Trusted · pinned" in html  # the header's badge: a pin, not a score
    listed = client_for(org["alice"]).get("/portal/agents/").content.decode()
    assert "Trusted · pinned" in listed
    assert "Trusted · pinned" in client_for(org["alice"]).get("/portal/").content.decode()


def test_another_teams_pinned_agent_is_404_by_url_and_post_and_absent_from_lists(org):
    agent = org["ours"]
    recompute_agents([agent.pk])
    trust_pin(agent=agent, level="trusted", reason="supervised pilot", by=org["rita"])
    bob = client_for(org["bob"])
    for method in (bob.get, bob.post):
        got = method(f"/portal/agents/{agent.slug}/")
        assert got.status_code == 404
        assert "supervised pilot" not in got.content.decode()
    for page in ("/portal/", "/portal/agents/", "/portal/agents/?trust_level=trusted"):
        html = bob.get(page).content.decode()
        assert agent.slug not in html and "pinned" not in html, page


def test_other_team_gets_404_and_reviewer_sees_the_panel(org):
    recompute_agents([org["ours"].pk])
    assert _page(org["bob"], org["ours"]).status_code == 404
    assert "Why this score" in _page(org["rita"], org["ours"]).content.decode()


def test_query_count_is_flat_with_history(org):
    signer = ed25519_signer()
    register(signer)
    small, large = org["ours"], f.AgentFactory(slug="red-big", owner_team=org["red"])
    _fill(small, 1, signer)
    _fill(large, 12, signer)
    now = int(time.time())
    for i in range(8):  # alternate results: each recomputation changes the outcome (a history row)
        attestation_submit(
            jws=signer.sign(large, iat=now - 100 + i, result="fail" if i % 2 else "pass")
        )
        recompute_agents([large.pk])
    recompute_agents([small.pk])
    assert TrustComputation.objects.filter(agent=large).count() >= 8
    counts = []
    for agent in (small, large):
        client = client_for(org["alice"])
        client.get(f"/portal/agents/{agent.slug}/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/portal/agents/{agent.slug}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
