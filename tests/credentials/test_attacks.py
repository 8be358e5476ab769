"""The attack suite, from outside: raw HTTP (httpx) against a live server.

Each attack is rejected with the right RFC 6749 / 7662 answer and nothing is issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from agents import services as agent_services
from agents.models import OrganisationPolicy
from audit.models import AuditEntry
from credentials import services
from credentials.models import SigningKey
from tests import factories as f

from .conftest import agent_with_secret, make_keypair, resource_with_secret

pytestmark = pytest.mark.django_db(transaction=True)

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ISSUING = ("token.issue", "token.exchange", "token.delegate")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict, key: bytes | None = None) -> str:
    """A JWS made by hand: ``alg: none`` (no key) or an HMAC over whatever bytes ``key`` is."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def issued_count() -> int:
    return AuditEntry.objects.filter(action__in=ISSUING).count()


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert "access_token" not in body
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


@pytest.fixture
def world(live_issuer):
    agent = agent_with_secret(scopes=("ledger:read", "ledger:write"))
    keypair = make_keypair("ES256")
    key_cred = services.credential_issue(
        agent=agent.agent, kind="public_key", public_jwk=keypair.public_jwk
    ).credential
    rs = resource_with_secret(audience="https://ledger.example.test")
    f.ConnectionFactory(agent=agent.agent, resource=rs.resource)
    private = jwt.PyJWK(keypair.private_jwk).key
    return {
        "base": live_issuer,
        "token_url": f"{live_issuer}/oauth/token",
        "agent": agent,
        "keypair": keypair,
        "key_cred": key_cred,
        "private": private,
        "rs": rs,
    }


def assertion_claims(world, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": world["agent"].client_id,
        "sub": world["agent"].client_id,
        "aud": world["token_url"],
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def post_assertion(world, assertion: str, **extra) -> httpx.Response:
    return httpx.post(
        world["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION,
            "client_assertion": assertion,
            **extra,
        },
    )


def signed_assertion(world, headers=None, **overrides) -> str:
    return jwt.encode(
        assertion_claims(world, **overrides),
        world["private"],
        algorithm="ES256",
        headers={"kid": world["key_cred"].pk, **(headers or {})},
    )


def token_for(world, client=None, **data) -> str:
    client = client or world["agent"]
    response = httpx.post(
        world["token_url"],
        data={"grant_type": "client_credentials", **data},
        auth=(client.client_id, client.secret),
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def introspect(world, token: str) -> dict:
    rs = world["rs"]
    response = httpx.post(
        f"{world['base']}/oauth/introspect",
        data={"token": token},
        auth=(rs.client_id, rs.secret),
    )
    assert response.status_code == 200, response.text
    return response.json()


# -- client assertions (private_key_jwt) ---------------------------------------------------


def test_a_good_assertion_works_and_cannot_be_replayed(world):
    assertion = signed_assertion(world)
    assert post_assertion(world, assertion).status_code == 200
    before = issued_count()
    assert_error(post_assertion(world, assertion), 401, "invalid_client")
    assert issued_count() == before
    entry = AuditEntry.objects.filter(action="client.authenticate").latest("id")
    assert entry.outcome == "failure" and entry.reason == "assertion_replayed"


@pytest.mark.parametrize(
    "attack",
    [
        "alg_none",
        "hs256_with_public_key",
        "foreign_kid",
        "real_kid_foreign_key",
        "ed25519_alg_for_a_p256_key",
        "expired",
        "not_yet_valid",
        "wrong_aud",
        "lifetime_too_long",
        "iss_sub_mismatch",
        "no_jti",
        "wrong_assertion_type",
        "garbage",
    ],
)
def test_assertion_attacks_are_invalid_client(world, attack):
    now = int(time.time())
    pem = (
        world["private"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    extra = {}
    if attack == "alg_none":
        assertion = unsigned({"alg": "none", "typ": "JWT"}, assertion_claims(world))
    elif attack == "hs256_with_public_key":
        header = {"alg": "HS256", "kid": world["key_cred"].pk}
        assertion = unsigned(header, assertion_claims(world), key=pem)
    elif attack in ("foreign_kid", "real_kid_foreign_key"):
        attacker = ec.generate_private_key(ec.SECP256R1())
        kid = "attacker-key" if attack == "foreign_kid" else world["key_cred"].pk
        assertion = jwt.encode(
            assertion_claims(world), attacker, algorithm="ES256", headers={"kid": kid}
        )
    elif attack == "ed25519_alg_for_a_p256_key":
        # RFC 9864's name is accepted, but only for an Ed25519 key credential.
        attacker = ed25519.Ed25519PrivateKey.generate()
        assertion = jwt.encode(
            assertion_claims(world),
            attacker,
            algorithm="Ed25519",
            headers={"kid": world["key_cred"].pk},
        )
    elif attack == "expired":
        assertion = signed_assertion(world, iat=now - 600, exp=now - 300)
    elif attack == "not_yet_valid":
        assertion = signed_assertion(world, nbf=now + 600, exp=now + 900)
    elif attack == "wrong_aud":
        assertion = signed_assertion(world, aud="https://elsewhere.example.test/oauth/token")
    elif attack == "lifetime_too_long":
        assertion = signed_assertion(world, exp=now + 86400)
    elif attack == "iss_sub_mismatch":
        assertion = signed_assertion(world, iss="someone-else")
    elif attack == "no_jti":
        assertion = signed_assertion(world, jti=None)
    elif attack == "wrong_assertion_type":
        assertion = signed_assertion(world)
        extra = {"client_assertion_type": "urn:example:other"}
    else:
        assertion = "not.a.jwt"
    before = issued_count()
    assert_error(post_assertion(world, assertion, **extra), 401, "invalid_client")
    assert issued_count() == before


# -- forged access tokens ------------------------------------------------------------------


@pytest.mark.parametrize(
    "attack", ["alg_none", "hs256_with_jwks_key", "foreign_key_real_kid", "foreign_kid"]
)
def test_forged_access_tokens_are_inactive_and_not_exchangeable(world, attack):
    real = token_for(world)
    header = jwt.get_unverified_header(real)
    claims = jwt.decode(real, options={"verify_signature": False})
    claims["scope"] = "ledger:read ledger:write admin:everything"
    if attack == "alg_none":
        forged = unsigned({"alg": "none", "typ": "at+jwt", "kid": header["kid"]}, claims)
    elif attack == "hs256_with_jwks_key":
        jwks = httpx.get(f"{world['base']}/.well-known/jwks.json").json()
        jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        pem = jwt.PyJWK(jwk).key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        hs_header = {"alg": "HS256", "typ": "at+jwt", "kid": header["kid"]}
        forged = unsigned(hs_header, claims, key=pem)
    else:
        attacker = ec.generate_private_key(ec.SECP256R1())
        kid = header["kid"] if attack == "foreign_key_real_kid" else "attacker-kid"
        forged = jwt.encode(
            claims, attacker, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"}
        )
    assert introspect(world, forged) == {"active": False}
    before = issued_count()
    agent = world["agent"]
    response = httpx.post(
        world["token_url"],
        data={
            "grant_type": EXCHANGE,
            "subject_token": forged,
            "subject_token_type": AT,
            "workflow_run": "whatever",
        },
        auth=(agent.client_id, agent.secret),
    )
    assert_error(response, 400, "invalid_grant")
    assert issued_count() == before


# -- scope, delegation, runs ---------------------------------------------------------------


def test_scope_widening_is_invalid_scope(world):
    agent = world["agent"]
    before = issued_count()
    response = httpx.post(
        world["token_url"],
        data={"grant_type": "client_credentials", "scope": "ledger:read payroll:write"},
        auth=(agent.client_id, agent.secret),
    )
    assert_error(response, 400, "invalid_scope")
    run = agent_services.run_start(
        workflow=f.WorkflowFactory(),
        run_id="run-widen",
        triggered_by="user:alice",
        participants=[agent.agent],
    )
    narrow = token_for(world, scope="ledger:read")
    response = httpx.post(
        world["token_url"],
        data={
            "grant_type": EXCHANGE,
            "subject_token": narrow,
            "subject_token_type": AT,
            "scope": "ledger:read ledger:write",
            "workflow_run": run.run_id,
        },
        auth=(agent.client_id, agent.secret),
    )
    assert_error(response, 400, "invalid_scope")
    assert issued_count() == before + 1  # only the narrow token


def _delegate(world, subject: str, actor_client) -> httpx.Response:
    actor_token = token_for(world, client=actor_client)
    return httpx.post(
        world["token_url"],
        data={
            "grant_type": EXCHANGE,
            "subject_token": subject,
            "subject_token_type": AT,
            "actor_token": actor_token,
            "actor_token_type": AT,
        },
        auth=(actor_client.client_id, actor_client.secret),
    )


def test_delegation_deeper_than_policy_is_invalid_grant(world):
    policy = OrganisationPolicy.current()
    policy.max_delegation_depth = 2
    policy.save()
    b, c, d = (agent_with_secret(scopes=("ledger:read",)) for _ in range(3))
    token = token_for(world)
    for hop in (b, c):
        response = _delegate(world, token, hop)
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["act"] == {
        "sub": c.client_id,
        "act": {"sub": b.client_id},
    }
    before = issued_count()
    assert_error(_delegate(world, token, d), 400, "invalid_grant")
    assert issued_count() == before + 1  # d's own actor token only


def test_completed_run_kills_task_tokens_and_refuses_exchange(world):
    agent = world["agent"]
    run = agent_services.run_start(
        workflow=f.WorkflowFactory(),
        run_id="run-ends",
        triggered_by="user:alice",
        participants=[agent.agent],
    )
    subject = token_for(world)
    data = {
        "grant_type": EXCHANGE,
        "subject_token": subject,
        "subject_token_type": AT,
        "workflow_run": run.run_id,
    }
    auth = (agent.client_id, agent.secret)
    task = httpx.post(world["token_url"], data=data, auth=auth).json()["access_token"]
    assert introspect(world, task)["active"] is True
    agent_services.run_complete(run=run)
    assert introspect(world, task) == {"active": False}
    before = issued_count()
    assert_error(httpx.post(world["token_url"], data=data, auth=auth), 400, "invalid_grant")
    assert issued_count() == before


# -- revoked credential, suspended agent ---------------------------------------------------


def test_revoked_credential_is_invalid_client_and_its_tokens_die(world):
    agent = world["agent"]
    token = token_for(world)
    assert introspect(world, token)["active"] is True
    from credentials.models import Credential

    services.credential_revoke(credential=Credential.objects.get(pk=agent.credential_id))
    assert introspect(world, token) == {"active": False}
    before = issued_count()
    response = httpx.post(
        world["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(agent.client_id, agent.secret),
    )
    assert_error(response, 401, "invalid_client")
    assert issued_count() == before


def test_suspended_agent_is_refused_everywhere_at_once(world):
    agent = world["agent"]
    token = token_for(world)
    agent_services.agent_suspend(agent=agent.agent, reason="suspected compromise")
    assert introspect(world, token) == {"active": False}
    before = issued_count()
    basic = httpx.post(
        world["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(agent.client_id, agent.secret),
    )
    assert_error(basic, 401, "invalid_client")
    assert_error(post_assertion(world, signed_assertion(world)), 401, "invalid_client")
    assert issued_count() == before
    agent_services.agent_reactivate(agent=agent.agent)
    assert introspect(world, token)["active"] is True


def test_unknown_client_and_wrong_secret_fail_identically(world):
    agent = world["agent"]
    wrong = agent.secret[:-12] + "0" * 12
    responses = [
        httpx.post(world["token_url"], data={"grant_type": "client_credentials"}, auth=auth)
        for auth in [
            (agent.client_id, wrong),
            ("nobody", agent.secret),
            (agent.client_id, "agcs_" + "0" * 16 + "_" + "1" * 64 + "_00000000"),
            (agent.client_id, "hunter2"),
        ]
    ]
    for response in responses:
        assert_error(response, 401, "invalid_client")
    assert len({r.text for r in responses}) == 1
    for entry in AuditEntry.objects.filter(action="client.authenticate"):
        assert agent.secret not in json.dumps([entry.changes, entry.context, entry.reason])


# -- malformed requests --------------------------------------------------------------------


def test_malformed_requests_get_standard_errors(world):
    url, agent = world["token_url"], world["agent"]
    auth = (agent.client_id, agent.secret)
    before = issued_count()
    cases = [
        (
            httpx.post(url, json={"grant_type": "client_credentials"}, auth=auth),
            400,
            "invalid_request",
        ),
        (httpx.post(url, data={}, auth=auth), 400, "invalid_request"),
        (
            httpx.post(url, data={"grant_type": "password"}, auth=auth),
            400,
            "unsupported_grant_type",
        ),
        (
            httpx.post(
                url,
                content="grant_type=client_credentials&grant_type=client_credentials",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=auth,
            ),
            400,
            "invalid_request",
        ),
        (
            httpx.post(
                url,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": "Basic !!!not-base64!!!"},
            ),
            401,
            "invalid_client",
        ),
        (
            httpx.post(
                url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": agent.client_id,
                    "client_secret": agent.secret,
                },
                auth=auth,
            ),
            400,
            "invalid_request",
        ),
        (httpx.post(url, data={"grant_type": "client_credentials"}), 401, "invalid_client"),
        (httpx.get(url, auth=auth), 405, "invalid_request"),
        (
            httpx.post(
                url,
                content=b"grant_type=\xff\xfe",
                auth=auth,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            400,
            "unsupported_grant_type",
        ),
        (
            httpx.post(
                url,
                data={"grant_type": "client_credentials", "resource": "https://nope"},
                auth=auth,
            ),
            400,
            "invalid_target",
        ),
        (
            httpx.post(
                url, data={"grant_type": "client_credentials", "scope": "bad\x01scope"}, auth=auth
            ),
            400,
            "invalid_scope",
        ),
        (
            httpx.post(
                url,
                data={
                    "grant_type": EXCHANGE,
                    "subject_token": "x" * 9000,
                    "subject_token_type": AT,
                    "workflow_run": "r",
                },
                auth=auth,
            ),
            400,
            "invalid_grant",
        ),
        (
            httpx.post(
                url,
                data={
                    "grant_type": EXCHANGE,
                    "subject_token": "a.b.c",
                    "subject_token_type": "urn:x",
                },
                auth=auth,
            ),
            400,
            "invalid_request",
        ),
    ]
    for response, status, error in cases:
        assert_error(response, status, error)
    assert issued_count() == before


def test_introspection_needs_a_resource_server_and_revocation_needs_the_owner(world):
    agent, base = world["agent"], world["base"]
    token = token_for(world)
    response = httpx.post(
        f"{base}/oauth/introspect", data={"token": token}, auth=(agent.client_id, agent.secret)
    )
    assert_error(response, 401, "invalid_client")
    assert_error(
        httpx.post(f"{base}/oauth/introspect", data={"token": token}), 401, "invalid_client"
    )
    other = agent_with_secret()
    response = httpx.post(
        f"{base}/oauth/revoke", data={"token": token}, auth=(other.client_id, other.secret)
    )
    assert_error(response, 400, "unauthorized_client")
    assert introspect(world, token)["active"] is True
    # Revoking garbage is a 200 (RFC 7009 §2.2) and changes nothing.
    response = httpx.post(
        f"{base}/oauth/revoke", data={"token": "garbage"}, auth=(agent.client_id, agent.secret)
    )
    assert response.status_code == 200


def test_failed_authentication_is_throttled_per_client(world, settings):
    agent = world["agent"]
    wrong = agent.secret[:-12] + "0" * 12
    for _ in range(20):
        httpx.post(
            world["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(agent.client_id, wrong),
        )
    response = httpx.post(
        world["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(agent.client_id, agent.secret),
    )
    assert response.status_code == 429
    assert response.json()["error"] == "invalid_client"
    assert int(response.headers["retry-after"]) > 0


def test_a_withdrawn_signing_key_stops_verifying(world):
    token = token_for(world)
    assert introspect(world, token)["active"] is True
    services.signing_keys_rotate(compromised=True)
    from credentials import signing

    signing.forget()
    assert introspect(world, token) == {"active": False}
    assert SigningKey.objects.filter(status="expired").count() == 1


def test_failed_authentication_is_throttled_per_address(world, settings):
    settings.CREDENTIAL_AUTH_FAILURES_PER_ADDRESS = (5, 60)
    for n in range(5):
        httpx.post(
            world["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(f"nobody-{n}", "wrong"),
        )
    agent = world["agent"]
    response = httpx.post(
        world["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(agent.client_id, agent.secret),
    )
    assert response.status_code == 429


@pytest.mark.postgres  # the live server on in-memory SQLite shares ONE connection across
# its request threads, so concurrent requests there corrupt that connection's transaction state
# (and every later test of the worker); sequential replays are refused on SQLite above.
def test_concurrent_replays_of_one_assertion_issue_exactly_one_token(world):
    from concurrent.futures import ThreadPoolExecutor

    token_for(world)  # the signing key exists before the race
    assertion = signed_assertion(world)
    before = issued_count()
    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(lambda _: post_assertion(world, assertion).status_code, range(5)))
    assert statuses.count(200) == 1
    assert set(statuses) - {200} <= {401}
    assert issued_count() == before + 1
