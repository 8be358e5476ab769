"""Each signal judged on hand-made facts: no database, the sentence a person reads, the points."""

from __future__ import annotations

import datetime as dt

import pytest

from trust.factors import FactorStatus
from trust.facts import AgentFacts, Context, CredentialFact, GrantFact, ReviewFact, VersionFact
from trust.models import TrustPolicy
from trust.scoring import compute
from trust.signals import behaviour, compliance, identity

NOW = dt.datetime(2026, 12, 5, 15, 30, tzinfo=dt.UTC)  # a Saturday


def ctx(**policy) -> Context:
    return Context(NOW, TrustPolicy(version=1, **policy), 90, None)


def facts(**kw) -> AgentFacts:
    base = dict(
        agent_id=1,
        slug="bot",
        status="active",
        trust_score=0,
        trust_level="untrusted",
        display_name="Bot",
        purpose="Does things.",
        team_id=1,
        team_slug="red",
        team_active=True,
        team_members=2,
        current_version=VersionFact("1.0", True, NOW - dt.timedelta(days=3)),
    )
    base.update(kw)
    return AgentFacts(**base)


def secret(days: int) -> CredentialFact:
    return CredentialFact("c1", "client_secret", NOW - dt.timedelta(days=days))


def key(days: int) -> CredentialFact:
    return CredentialFact("c2", "public_key", NOW - dt.timedelta(days=days))


def test_credential_age_says_how_old_and_what_policy_allows():
    factor = identity.credential_age(facts(credentials=[secret(212)]), ctx())
    assert factor.status == FactorStatus.UNMET
    assert factor.sentence == "credential is 212 days old; policy allows 90"
    assert factor.improve == "rotate the credential"
    assert identity.credential_age(facts(credentials=[secret(10)]), ctx()).status == "met"


def test_credential_age_without_credential_is_insufficient_data_not_neutral():
    factor = identity.credential_age(facts(), ctx())
    assert factor.status == FactorStatus.INSUFFICIENT_DATA
    assert factor.earned == 0 and factor.possible > 0


def test_key_credential_advice_names_its_points():
    outcome = compute(facts(credentials=[secret(1)]), ctx())
    key_factor = next(s for s in outcome.factors if s.factor.code == "credential_secret_only")
    assert key_factor.advice == "register a key credential: +4"  # 10 of identity's 100 x 40
    with_key = compute(facts(credentials=[secret(1), key(1)]), ctx())
    assert with_key.score == outcome.score + 4


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"team_members": 0}, "team_no_members"),
        ({"team_active": False}, "team_inactive"),
        ({"purpose": " "}, "registration_incomplete"),
        ({"current_version": None}, "version_missing"),
        ({"current_version": VersionFact("2.0", False, NOW)}, "version_unreviewed"),
    ],
)
def test_identity_shortfalls(change, code):
    codes = {f.code: f for f in identity.factors(facts(credentials=[secret(1)], **change), ctx())}
    assert codes[code].status == FactorStatus.UNMET


def test_default_policy_fresh_sound_agent_is_pending_and_lacking_one_is_untrusted():
    fresh = facts(credentials=[secret(0)])
    assert compute(fresh, ctx()).level == "pending"
    for lacking in (
        {"credentials": []},
        {"credentials": [secret(0)], "team_members": 0},
        {"credentials": [secret(0)], "current_version": VersionFact("1", False, NOW)},
    ):
        assert compute(facts(**lacking), ctx()).level == "untrusted", lacking


def test_sensitive_grants_must_be_justified_and_bounded():
    grants = [
        GrantFact("pay:initiate", "critical", True, NOW + dt.timedelta(days=30)),
        GrantFact("crm:export", "high", True, None),
        GrantFact("kb:read", "low", False, None),
    ]
    factor = compliance.sensitive_grants(facts(grants=grants), ctx())
    assert factor.status == FactorStatus.PARTIAL and factor.earned == 15
    assert "crm:export" in factor.sentence and "pay:initiate" not in factor.sentence


def test_rotation_and_grants_beyond_the_reviewed_version():
    f = facts(credentials=[secret(120)], grants=[GrantFact("a:read", "low", True, None)])
    assert compliance.rotation(f, ctx()).status == FactorStatus.UNMET
    assert "120 days" in compliance.rotation(f, ctx()).sentence
    assert compliance.grants_reviewed(f, ctx()).code == "grants_beyond_version"
    f.requested_scopes = {"a:read"}
    assert compliance.grants_reviewed(f, ctx()).status == FactorStatus.MET


def test_access_review_outcome():
    assert compliance.access_review(facts(), ctx()).status == FactorStatus.INSUFFICIENT_DATA
    ok = facts(review=ReviewFact(True, "campaign 7", NOW))
    assert compliance.access_review(ok, ctx()).status == FactorStatus.MET
    bad = facts(review=ReviewFact(False, "campaign 8", NOW))
    assert compliance.access_review(bad, ctx()).status == FactorStatus.UNMET


def test_behaviour_without_history_is_insufficient_data_everywhere():
    for factor in behaviour.factors(facts(), ctx()):
        assert factor.status == FactorStatus.INSUFFICIENT_DATA, factor.code
        assert factor.earned == 0


def test_behaviour_in_learning_period_is_insufficient_data():
    f = facts()
    f.usage.first_seen = NOW - dt.timedelta(days=6)
    c = Context(NOW, TrustPolicy(version=1), 90, 490000)
    factor = behaviour.volume(f, c)
    assert factor.code == "volume_learning"
    assert factor.status == FactorStatus.INSUFFICIENT_DATA
    assert "0 of 2 weeks" in factor.sentence


def test_denial_rate_and_auth_failures():
    f = facts()
    f.usage.first_seen = NOW - dt.timedelta(days=60)
    f.usage.allowed, f.usage.denied = 55, 45
    factor = behaviour.denials(f, ctx())
    assert factor.status == FactorStatus.UNMET
    assert factor.sentence.startswith("45 of 100 decisions denied in 7 days (45%)")
    f.usage.denied = 5
    assert behaviour.denials(f, ctx()).status == FactorStatus.MET
    f.usage.auth_failed = 50
    assert behaviour.auth_failures(f, ctx()).status == FactorStatus.UNMET
    f.usage.allowed, f.usage.denied = 3, 0
    assert behaviour.denials(f, ctx()).status == FactorStatus.INSUFFICIENT_DATA


def test_caps_hold_trusted_at_pending_and_inactive_at_untrusted():
    f = facts(credentials=[key(1)], review=ReviewFact(True, "r", NOW))
    f.attestations = []
    high = TrustPolicy(version=1, trusted_min=60, pending_min=30)
    assert compute(f, Context(NOW, high, 90, None)).level == "trusted"
    f.newer_unreviewed = ["2.0"]
    capped = compute(f, Context(NOW, high, 90, None))
    assert (capped.computed_level, capped.level, capped.caps) == (
        "trusted",
        "pending",
        ["version_unreviewed"],
    )
    f.newer_unreviewed, f.drift = [], ["sha256:ab"]
    assert compute(f, Context(NOW, high, 90, None)).caps == ["config_drift"]
    f.drift, f.status = None, "suspended"
    assert compute(f, Context(NOW, high, 90, None)).level == "untrusted"
