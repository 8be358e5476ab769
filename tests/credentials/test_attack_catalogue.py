"""The RFC 8725 (JWT BCP) and RFC 9700 (OAuth 2.0 security BCP) cases not already in
``test_attacks.py``, from outside over raw HTTP against a live server. ``docs/security.md``
maps every case of both documents to its test (or says why it does not apply).
"""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from credentials.signing import sign_jws

from . import test_attacks
from .conftest import agent_with_secret, resource_with_secret
from .test_attacks import (
    AT,
    EXCHANGE,
    assert_error,
    assertion_claims,
    introspect,
    issued_count,
    post_assertion,
    signed_assertion,
    token_for,
    unsigned,
)

world = test_attacks.world  # the attack suite's organisation (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _exchange(world, subject_token: str, client=None, **extra) -> httpx.Response:
    client = client or world["agent"]
    return httpx.post(
        world["token_url"],
        data={
            "grant_type": EXCHANGE,
            "subject_token": subject_token,
            "subject_token_type": AT,
            "workflow_run": "whatever",
            **extra,
        },
        auth=(client.client_id, client.secret),
    )


def _platform_token(world, **overrides) -> str:
    """An access token minted with the platform's own key (what only the server can make),
    with the given claims changed: the signature is good, the claims are the attack."""
    claims = jwt.decode(token_for(world), options={"verify_signature": False})
    claims.update(overrides)
    typ = claims.pop("__typ", "at+jwt")
    return sign_jws({k: v for k, v in claims.items() if v is not None}, typ=typ)


# -- RFC 8725 §2.1/§3.1: the algorithm comes from the key, never from the token ----------------


def test_assertion_in_another_algorithm_than_its_key_is_invalid_client(world):
    """A P-256 key credential: an assertion saying EdDSA, or HS256 keyed with the public key's
    JSON, is refused (the algorithm is pinned by the registered key)."""
    before = issued_count()
    hs = unsigned(
        {"alg": "HS256", "kid": world["key_cred"].pk},
        assertion_claims(world),
        key=str(world["keypair"].public_jwk).encode(),
    )
    assert_error(post_assertion(world, hs), 401, "invalid_client")
    secret_keyed = unsigned(
        {"alg": "HS256", "kid": world["key_cred"].pk},
        assertion_claims(world),
        key=world["agent"].secret.encode(),  # client_secret_jwt is not offered
    )
    assert_error(post_assertion(world, secret_keyed), 401, "invalid_client")
    assert issued_count() == before


# -- RFC 8725 §3.10 (kid), §3.x header-carried keys (jku, x5u, jwk, x5c), crit -----------------


@pytest.mark.parametrize(
    "kid",
    ["../../../../dev/null", "' OR '1'='1", "%00", "a" * 5000, "", None],
    ids=["traversal", "sql", "nul", "huge", "empty", "missing"],
)
def test_kid_injection_finds_no_key(world, kid):
    """The kid is only compared with the ids and thumbprints of keys we hold (never a path, a
    query or a URL): a token or assertion signed by an attacker's key under any kid is refused."""
    claims = jwt.decode(token_for(world), options={"verify_signature": False})
    headers = {"typ": "at+jwt"}
    if kid is not None:
        headers["kid"] = kid
    attacker = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims, attacker, algorithm="ES256", headers=headers)
    assert introspect(world, forged) == {"active": False}
    assertion = jwt.encode(assertion_claims(world), attacker, algorithm="ES256", headers=headers)
    assert_error(post_assertion(world, assertion), 401, "invalid_client")


@pytest.mark.parametrize("header", ["jwk", "jku", "x5u", "x5c"])
def test_keys_named_by_the_token_itself_are_never_used(world, header):
    """An attacker signs with its own key and points at it from the header (embedded JWK,
    a URL, a certificate chain): the server never fetches or trusts it."""
    attacker = ec.generate_private_key(ec.SECP256R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    value = {
        "jwk": public,
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBattacker"],
    }[header]
    claims = jwt.decode(token_for(world), options={"verify_signature": False})
    kid = jwt.get_unverified_header(token_for(world))["kid"]
    forged = jwt.encode(
        claims, attacker, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt", header: value}
    )
    assert introspect(world, forged) == {"active": False}
    assertion = jwt.encode(
        assertion_claims(world),
        attacker,
        algorithm="ES256",
        headers={"kid": world["key_cred"].pk, header: value},
    )
    assert_error(post_assertion(world, assertion), 401, "invalid_client")


def test_an_assertion_with_a_critical_extension_we_do_not_know_is_refused(world):
    """RFC 7515 §4.1.11: a ``crit`` header naming an extension the recipient does not
    understand makes the JWS invalid, even when correctly signed by the client's key."""
    assertion = signed_assertion(world, headers={"crit": ["urn:example:must-check"]})
    before = issued_count()
    assert_error(post_assertion(world, assertion), 401, "invalid_client")
    assert issued_count() == before


# -- RFC 8725 §3.11/§3.12: explicit typing, cross-JWT confusion ---------------------------------


def test_an_access_token_is_not_a_client_assertion(world):
    """Our own at+jwt, replayed as the client's assertion: wrong key, wrong typ, wrong aud."""
    assert_error(post_assertion(world, token_for(world)), 401, "invalid_client")


def test_a_client_assertion_is_not_an_access_token(world):
    assertion = signed_assertion(world)
    assert introspect(world, assertion) == {"active": False}
    assert_error(_exchange(world, assertion), 400, "invalid_grant")


@pytest.mark.parametrize("typ", ["JWT", "checkpoint+jwt", "attestation+jwt", "at+jwt "])
def test_a_platform_signed_jws_of_another_type_is_not_an_access_token(world, typ):
    """The platform key signs other things too (audit checkpoints): a JWS with good
    signature and claims but another ``typ`` is not an access token."""
    forged = _platform_token(world, __typ=typ)
    assert introspect(world, forged) == {"active": False}
    assert_error(_exchange(world, forged), 400, "invalid_grant")


# -- RFC 8725 §3.9 / RFC 9700 §4.10: audience, time, substitution -------------------------------


def test_a_token_for_one_audience_is_inactive_for_another_resource_server(world):
    token = token_for(world)
    stranger = resource_with_secret(audience="https://crm.example.test")
    response = httpx.post(
        f"{world['base']}/oauth/introspect",
        data={"token": token},
        auth=(stranger.client_id, stranger.secret),
    )
    assert response.status_code == 200
    assert response.json() == {"active": False}


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 120},
        {"nbf": int(time.time()) + 3600},
        {"iat": int(time.time()) + 3600},
        {"iss": "https://attacker.example"},
        {"aud": "https://attacker.example"},
        {"exp": None},
        {"sub": None},
    ],
    ids=[
        "expired",
        "not_yet_valid",
        "issued_in_future",
        "foreign_iss",
        "foreign_aud",
        "no_exp",
        "no_sub",
    ],
)
def test_well_signed_tokens_with_bad_claims_are_inactive(world, claims):
    forged = _platform_token(world, **claims)
    assert introspect(world, forged) == {"active": False}
    if "aud" not in claims:
        # (An exchange takes a subject token for any audience it was issued for: a token
        # narrowed to one resource does not name the issuer. A foreign one needs our key.)
        assert_error(_exchange(world, forged), 400, "invalid_grant")


def test_another_agents_token_is_not_ones_own_subject(world):
    """Token substitution: another agent's real token, presented as one's own subject token
    without an actor token, is refused (delegation needs the actor's own token)."""
    victim = agent_with_secret(scopes=("ledger:read",))
    stolen = token_for(world, client=victim)
    response = _exchange(world, stolen)  # the attacker agent exchanges the victim's token
    assert response.status_code in (400, 403)
    assert response.json()["error"] in ("invalid_grant", "unauthorized_client", "invalid_request")
    assert "access_token" not in response.json()


def test_a_revoked_jti_stays_dead(world):
    token = token_for(world)
    agent = world["agent"]
    revoked = httpx.post(
        f"{world['base']}/oauth/revoke",
        data={"token": token},
        auth=(agent.client_id, agent.secret),
    )
    assert revoked.status_code == 200
    assert introspect(world, token) == {"active": False}
    assert_error(_exchange(world, token), 400, "invalid_grant")


# -- RFC 9700 §2.4/§4.x: client authentication -------------------------------------------------


def test_no_downgrade_to_weaker_client_authentication(world):
    """A client id alone (``none``), a secret guessed for a key-only client, and two methods at
    once are refused; the metadata advertises no ``none``."""
    keys_only = world["agent"].client_id
    none = httpx.post(
        world["token_url"], data={"grant_type": "client_credentials", "client_id": keys_only}
    )
    assert_error(none, 401, "invalid_client")
    both = httpx.post(
        world["token_url"],
        data={"grant_type": "client_credentials", "client_secret": world["agent"].secret},
        auth=(keys_only, world["agent"].secret),
    )
    assert both.status_code in (400, 401)
    assert both.json()["error"] in ("invalid_request", "invalid_client")
    metadata = httpx.get(f"{world['base']}/.well-known/oauth-authorization-server").json()
    assert "none" not in metadata["token_endpoint_auth_methods_supported"]
    assert "HS256" not in metadata.get("token_endpoint_auth_signing_alg_values_supported", [])


def test_an_assertion_for_another_audience_is_refused(world):
    for aud in (f"{world['base']}/oauth/introspect", "https://attacker.example/token"):
        assertion = signed_assertion(world, aud=aud, jti=uuid.uuid4().hex)
        assert_error(post_assertion(world, assertion), 401, "invalid_client")
