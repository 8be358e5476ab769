"""Submitting attestations over HTTP: a valid one counts within its attestor's cap; every
attack changes nothing, is answered with a stable error code (never a 500) and is audited."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey

from audit.models import AuditEntry
from trust.attestations.models import Attestation
from trust.attestations.selectors import attestation_factors
from trust.attestations.services import attestation_submit, attestor_revoke
from trust.attestations.verify import Rejected
from trust.factors import Component, FactorStatus

from .conftest import submit
from .signers import Signer, b64, ed25519_signer, p256_signer, register

pytestmark = pytest.mark.django_db


def _factors(agent):
    return attestation_factors([agent.pk], at=timezone.now())[agent.pk]


def _accepted(response, agent, jws):
    assert response.status_code == 201, response.content
    body = response.json()
    stored = Attestation.objects.get(pk=body["id"])
    assert stored.jws == jws == body["jws"]  # verbatim: anyone can verify it again
    assert stored.agent == agent
    return stored


@pytest.mark.parametrize("make", [ed25519_signer, p256_signer], ids=["Ed25519", "P-256"])
@pytest.mark.parametrize("as_jose", [False, True], ids=["json", "application/jose"])
def test_valid_attestation_raises_the_factor_within_the_cap(org, make, as_jose):
    agent = org["agent"]
    signer = make()
    register(signer, cap=20)
    assert _factors(agent) == []

    jws = signer.sign(agent)
    stored = _accepted(submit(jws, as_jose=as_jose), agent, jws)
    # A second pass of another claim type from the same attestor: still within its cap.
    assert submit(signer.sign(agent, claim_type="config_scan")).status_code == 201

    [factor] = _factors(agent)
    assert factor.component == Component.ATTESTATIONS
    assert factor.status == FactorStatus.MET
    assert factor.earned == factor.possible == 20.0
    assert "passed" in factor.sentence
    entry = AuditEntry.objects.filter(action="attestation.submit", target_id=str(stored.pk)).get()
    assert entry.outcome == "success"
    assert entry.actor == f"attestor:{signer.name}"
    assert entry.resource == agent.principal


def test_kid_alone_names_the_attestor(org, ed):
    agent = org["agent"]
    attestor_kid = ed.key.thumbprint()
    jws = ed.sign(agent, header={"kid": attestor_kid}, iss=None)
    _accepted(submit(jws), org["agent"], jws)


def test_eddsa_name_is_accepted_for_an_ed25519_key(org, ed):
    jws = ed.sign(org["agent"], header={"alg": "EdDSA"})
    _accepted(submit(jws), org["agent"], jws)


def test_a_fail_earns_nothing_and_a_newer_pass_replaces_it(org, ed):
    agent = org["agent"]
    now = int(time.time())
    assert submit(ed.sign(agent, result="fail", iat=now - 100)).status_code == 201
    [factor] = _factors(agent)
    assert (factor.status, factor.earned, factor.possible) == (FactorStatus.UNMET, 0, 20)
    assert "FAILED" in factor.sentence and factor.improve
    assert submit(ed.sign(agent, iat=now - 50)).status_code == 201
    [factor] = _factors(agent)
    assert (factor.status, factor.earned) == (FactorStatus.MET, 20)


def _hs256_with_public_key(signer: Signer, agent) -> str:
    """The classic key confusion: HMAC keyed with the attestor's public key as a secret."""
    header = b64({"alg": "HS256", "typ": "JWT"})
    payload = b64(signer.claims(agent))
    secret = json.dumps(signer.public_jwk).encode()
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def _unsigned(signer: Signer, agent) -> str:
    return f"{b64({'alg': 'none'})}.{b64(signer.claims(agent))}."


def _embedded_jwk(signer: Signer, agent) -> str:
    mine = OKPKey.generate_key("Ed25519")
    header = {"alg": "Ed25519", "jwk": mine.as_dict(private=False)}
    return jose_jwt.encode(header, signer.claims(agent), mine, algorithms=["Ed25519"])


def _forged(signer: Signer, agent) -> str:
    """Signed by a key that is not the attestor's, naming the attestor."""
    return Signer(signer.name, OKPKey.generate_key("Ed25519"), "Ed25519").sign(agent)


def _wrong_algorithm(signer: Signer, agent) -> str:
    """An Ed25519 attestor's name on an ES256 statement (a P-256 key of the attacker's)."""
    return Signer(signer.name, ECKey.generate_key("P-256"), "ES256").sign(agent)


def _crit(signer: Signer, agent) -> str:
    """An extension we do not understand, marked critical (RFC 7515 §4.1.11)."""
    return signer.sign(agent, header={"crit": ["b64"], "b64": True})


ATTACKS = {
    "forged": (_forged, "invalid_signature"),
    "expired": (lambda s, a: s.sign(a, iat=1_700_000_000, exp=1_700_000_600), "expired"),
    "wrong_subject": (lambda s, a: s.sign(a, sub="agent:nobody-here"), "unknown_subject"),
    "subject_not_a_principal": (lambda s, a: s.sign(a, sub=a.slug), "invalid_subject"),
    "wrong_algorithm": (_wrong_algorithm, "algorithm_mismatch"),
    "alg_none": (_unsigned, "algorithm_refused"),
    "hs256_public_key_as_secret": (_hs256_with_public_key, "algorithm_mismatch"),
    "embedded_jwk": (_embedded_jwk, "header_key_refused"),
    "jku": (lambda s, a: s.sign(a, header={"jku": "https://evil.test/jwks"}), "header_key_refused"),
    "x5u": (lambda s, a: s.sign(a, header={"x5u": "https://evil.test/cert"}), "header_key_refused"),
    "crit": (_crit, "crit_refused"),
    "disallowed_claim_type": (
        lambda s, a: s.sign(a, claim_type="certification"),
        "claim_type_not_allowed",
    ),
    "unknown_claim_type": (lambda s, a: s.sign(a, claim_type="vibes"), "invalid_claim_type"),
    "bad_result": (lambda s, a: s.sign(a, result="maybe"), "invalid_result"),
    "issued_in_future": (lambda s, a: s.sign(a, iat=int(time.time()) + 3600), "issued_in_future"),
    "lifetime_too_long": (
        lambda s, a: s.sign(a, exp=int(time.time()) + 5 * 365 * 86400),
        "lifetime_too_long",
    ),
    "unknown_attestor": (lambda s, a: s.sign(a, iss="nobody"), "unknown_attestor"),
    "no_attestor_named": (lambda s, a: s.sign(a, iss=None), "unknown_attestor"),
    "wrong_audience": (lambda s, a: s.sign(a, aud="https://elsewhere.test"), "invalid_audience"),
    "bad_digest": (lambda s, a: s.sign(a, config_digest="md5:abc"), "invalid_config_digest"),
    "typ_access_token": (lambda s, a: s.sign(a, header={"typ": "at+jwt"}), "invalid_header"),
    "garbage": (lambda s, a: "not.a.jws", "malformed_jws"),
    "deeply_nested": (
        lambda s, a: f"{b64({'alg': 'ES256'})}.{b64(b'[' * 5000)}.AA",
        "malformed_jws",
    ),
    "payload_not_an_object": (
        lambda s, a: f"{b64({'alg': 'ES256'})}.{b64(b'[1]')}.AA",
        "malformed_jws",
    ),
    "two_segments": (lambda s, a: "abc.def", "malformed_jws"),
    "too_large": (lambda s, a: s.sign(a, note="x" * 9000), "too_large"),
    "iat_not_a_number": (lambda s, a: s.sign(a, iat="yesterday"), "invalid_iat"),
    "exp_huge": (lambda s, a: s.sign(a, exp=10**20), "invalid_exp"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attacks_change_nothing_and_are_audited(org, ed, attack):
    agent = org["agent"]
    make, code = ATTACKS[attack]
    before = AuditEntry.objects.filter(action="attestation.submit").count()

    response = submit(make(ed, agent))

    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
    assert response.json()["error_description"]
    assert not Attestation.objects.exists()
    assert _factors(agent) == []
    refused = AuditEntry.objects.filter(action="attestation.submit").order_by("-id")
    assert refused.count() == before + 1
    entry = refused.first()
    assert (entry.outcome, entry.reason, entry.actor) == ("denied", code, "anonymous")
    assert len(json.dumps(entry.context)) < 1000  # bounded: a digest, never the submission
    assert entry.context["sha256"]


def test_revoked_attestor_counts_nothing_and_its_new_statements_are_refused(org, ed):
    agent = org["agent"]
    assert submit(ed.sign(agent)).status_code == 201
    assert _factors(agent)[0].earned == 20
    attestor_revoke(attestor=Attestation.objects.get().attestor, by="system", reason="key leaked")
    assert _factors(agent) == []  # not even its cap at stake
    response = submit(ed.sign(agent))
    assert response.status_code == 400
    assert response.json()["error"] == "attestor_revoked"
    assert Attestation.objects.count() == 1
    assert AuditEntry.objects.filter(action="attestor.revoke", reason="key leaked").exists()


def test_replayed_jti_is_refused(org, ed):
    agent = org["agent"]
    jws = ed.sign(agent, jti="the-same-jti-twice")
    assert submit(jws).status_code == 201
    response = submit(jws)
    assert response.status_code == 400
    assert response.json()["error"] == "replayed"
    # Even re-signed (a different JWS), the jti is spent for this attestor.
    assert submit(ed.sign(agent, jti="the-same-jti-twice")).json()["error"] == "replayed"
    assert Attestation.objects.count() == 1
    assert AuditEntry.objects.filter(action="attestation.submit", reason="replayed").count() == 2


def test_kid_confusion_is_refused(org, ed, ec):
    """The P-256 attestor's kid on a statement claiming to be from the Ed25519 attestor."""
    agent = org["agent"]
    jws = ed.sign(agent, header={"kid": ec.key.thumbprint()}, claim_type="config_scan")
    response = submit(jws)
    assert response.json()["error"] == "attestor_mismatch"
    assert not Attestation.objects.exists()


def test_signature_is_the_only_authentication(org, ed):
    """No session is needed, and a logged-in browser's cookie changes nothing (no CSRF 403)."""
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(org["alice"])
    jws = ed.sign(org["agent"])
    response = client.post("/api/v1/attestations/", {"attestation": jws}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (b'{"attestation": 12}', "application/json"),
        (b"{}", "application/json"),
        (b"\xff\xfe", "application/jose"),
        (b"a=b", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_requests_are_400_not_500(org, body, content_type):
    from rest_framework.test import APIClient

    response = APIClient().generic("POST", "/api/v1/attestations/", body, content_type=content_type)
    assert response.status_code in (400, 415), response.content
    assert "error" in response.json() or "detail" in response.json()


def test_an_address_that_keeps_being_refused_waits(org, ed, settings):
    settings.ATTESTATION_REFUSALS_PER_ADDRESS = (3, 60)
    agent = org["agent"]
    for _ in range(3):
        assert submit(_forged(ed, agent)).status_code == 400
    response = submit(ed.sign(agent))
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert submit(ed.sign(agent), address="198.51.100.7").status_code == 201
    assert AuditEntry.objects.filter(action="attestation.submit", outcome="denied").count() == 3


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "crit", "x"]),
        st.from_type(object).filter(lambda v: isinstance(v, (str, int, list, type(None)))),
    ),
    claims=st.dictionaries(
        st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=20), st.floats(), st.none())
    ),
    signature=st.text(alphabet="AZaz09-_=.+/ ", max_size=40),
)
def test_any_submission_is_refused_cleanly(org, ed, header, claims, signature):
    """Whatever arrives, the answer is a refusal with a code, never an unexpected error."""
    jws = f"{b64(header)}.{b64(json.dumps(claims, allow_nan=True).encode())}.{signature}"
    with pytest.raises(Rejected) as refused:
        attestation_submit(jws=jws)
    assert refused.value.code
