"""The token endpoint's per-process client cache: fast when warm, never a way around revocation.

Transactional tests (no surrounding transaction), so the cache is live exactly as in a server.
Each test warms the cache with real token requests, changes something through the services,
and asks again from outside.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import time
import uuid
from urllib.parse import urlencode

import jwt
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents import services as agent_services
from agents.models import ScopeGrant
from audit.models import AuditEntry
from credentials import crypto, services
from credentials.models import AssertionJti
from tests import factories as f

from .conftest import agent_with_secret, make_keypair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.process_caches]

FORM = "application/x-www-form-urlencoded"
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(autouse=True)
def _cold_cache(issuer):
    """Every test starts cold (tests/conftest.py forgets the process caches) with a key."""


def ask(client, agent, secret: str | None = None, **data):
    raw = f"{agent.client_id}:{secret or agent.secret}".encode()
    return client.post(
        "/oauth/token",
        urlencode({"grant_type": "client_credentials", **data}),
        content_type=FORM,
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode(),
    )


def scopes_of(response) -> set[str]:
    assert response.status_code == 200, response.content
    return set(response.json()["scope"].split())


def warm(client, agent) -> None:
    # The first request of a fresh database also creates the policy row (a new epoch).
    for _ in range(3):
        assert ask(client, agent).status_code == 200


def issued() -> int:
    return AuditEntry.objects.filter(action="token.issue").count()


def test_a_warm_request_reads_nothing_and_writes_its_audit_entry(
    client, django_assert_max_num_queries
):
    agent = agent_with_secret()
    warm(client, agent)
    before = issued()
    with django_assert_max_num_queries(1):  # the guarded audit INSERT, nothing else
        response = ask(client, agent)
    assert scopes_of(response) == {"ledger:read"}
    assert issued() == before + 1


def test_suspending_the_agent_refuses_its_very_next_request(client):
    agent = agent_with_secret()
    warm(client, agent)
    agent_services.agent_suspend(agent=agent.agent, reason="incident")
    before = issued()
    response = ask(client, agent)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert issued() == before
    failure = AuditEntry.objects.filter(action="client.authenticate").order_by("-id").first()
    assert failure.reason == "agent_suspended"


def test_revoking_the_credential_refuses_its_very_next_request(client):
    agent = agent_with_secret()
    warm(client, agent)
    credential = agent.agent.credentials.get(pk=agent.credential_id)
    services.credential_revoke(credential=credential, reason="leak")
    response = ask(client, agent)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_an_emergency_rotation_kills_the_remembered_secret_at_once(client):
    agent = agent_with_secret()
    warm(client, agent)
    credential = agent.agent.credentials.get(pk=agent.credential_id)
    successor = services.credential_rotate(credential=credential, emergency=True)
    assert ask(client, agent).status_code == 401
    assert ask(client, agent, secret=successor.secret).status_code == 200


def test_a_revoked_grant_is_missing_from_the_very_next_token(client):
    agent = agent_with_secret(scopes=("ledger:read", "ledger:write"))
    warm(client, agent)
    grant = ScopeGrant.objects.get(agent=agent.agent, scope__name="ledger:write")
    agent_services.scope_revoke(grant=grant, reason="no longer needed")
    assert scopes_of(ask(client, agent)) == {"ledger:read"}
    refused = ask(client, agent, scope="ledger:write")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_a_new_grant_is_in_the_very_next_token(client):
    agent = agent_with_secret()
    warm(client, agent)
    agent_services.scope_grant(
        agent=agent.agent, scope=f.ScopeFactory(name="ledger:write"), justification="close"
    )
    assert scopes_of(ask(client, agent)) == {"ledger:read", "ledger:write"}


def test_a_grant_that_expires_leaves_the_token_without_any_write(client, clock):
    """Time changes no row, so no epoch: the cached entry lives only until the grant ends."""
    agent = agent_with_secret()
    f.ScopeGrantFactory(
        agent=agent.agent,
        scope=f.ScopeFactory(name="ledger:write"),
        expires_at=timezone.now() + dt.timedelta(seconds=60),
    )
    warm(client, agent)
    assert scopes_of(ask(client, agent)) == {"ledger:read", "ledger:write"}
    clock.advance(61)
    assert scopes_of(ask(client, agent)) == {"ledger:read"}


def test_a_wrong_secret_after_a_warm_one_is_refused_and_audited(client):
    agent = agent_with_secret()
    warm(client, agent)
    # Well formed, with this credential's id and a valid checksum: only the HMAC can refuse it.
    wrong = crypto.format_secret(agent.credential_id, secrets.token_hex(32))
    before = AuditEntry.objects.filter(action="client.authenticate", outcome="failure").count()
    response = ask(client, agent, secret=wrong)
    assert response.status_code == 401
    after = AuditEntry.objects.filter(action="client.authenticate", outcome="failure").count()
    assert after == before + 1


def test_a_flood_of_wrong_secrets_is_throttled_but_does_not_lock_out_a_warm_agent(client, settings):
    settings.CREDENTIAL_AUTH_FAILURES_PER_CLIENT = (5, 60)
    agent = agent_with_secret()
    warm(client, agent)
    wrong = crypto.format_secret(agent.credential_id, secrets.token_hex(32))
    statuses = [ask(client, agent, secret=wrong).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert ask(client, agent).status_code == 200


def test_a_stale_cache_entry_writes_nothing_and_is_decided_again(client):
    """A change that moves the epoch between warm-up and the next request: the guarded INSERT
    writes nothing, and the request is answered from the database (one entry, not two)."""
    agent = agent_with_secret()
    warm(client, agent)
    agent_services.agent_update(agent=agent.agent, data={"purpose": "a new purpose"})
    before = issued()
    assert ask(client, agent).status_code == 200
    assert issued() == before + 1


def _agent_with_key(alg: str):
    """An agent with a secret and a public key of ``alg``: (agent, key credential, private)."""
    agent = agent_with_secret()
    keypair = make_keypair(alg)
    credential = services.credential_issue(
        agent=agent.agent, kind="public_key", public_jwk=keypair.public_jwk
    ).credential
    return agent, credential, jwt.PyJWK(keypair.private_jwk).key


@pytest.fixture
def key_agent(issuer):
    return _agent_with_key("ES256")


def _assert(client, agent, credential, private, jti: str | None = None, alg: str = "ES256"):
    now = int(time.time())
    claims = {
        "iss": agent.client_id,
        "sub": agent.client_id,
        "aud": "http://testserver/oauth/token",
        "iat": now,
        "exp": now + 60,
        "jti": jti or uuid.uuid4().hex,
    }
    assertion = jwt.encode(claims, private, algorithm=alg, headers={"kid": credential.pk})
    return client.post(
        "/oauth/token",
        urlencode(
            {
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION,
                "client_assertion": assertion,
            }
        ),
        content_type=FORM,
    )


def test_a_warm_key_request_writes_its_jti_and_audit_entry_only(client, key_agent):
    agent, credential, private = key_agent
    for _ in range(3):
        assert _assert(client, agent, credential, private).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert _assert(client, agent, credential, private).status_code == 200
    # The replay-cache INSERT and the audit INSERT commit together, and nothing is read: on
    # PostgreSQL one statement (a data-modifying CTE) in autocommit, elsewhere one transaction.
    sql = [query["sql"] for query in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert len(sql) == 1
        # The epoch guard once, then both INSERTs select from it: both are written or neither.
        assert sql[0].startswith("WITH guard AS (SELECT 1 WHERE ")
        assert 'along_with AS (INSERT INTO "credentials_assertionjti"' in sql[0]
        assert 'INSERT INTO "audit_auditentry"' in sql[0]
    else:
        verbs = [statement.split()[0] for statement in sql]
        assert [v for v in verbs if v not in ("BEGIN", "COMMIT")] == ["INSERT", "INSERT"]


def test_a_warm_key_credential_is_revoked_at_once(client, key_agent):
    agent, credential, private = key_agent
    for _ in range(3):
        assert _assert(client, agent, credential, private).status_code == 200
    services.credential_revoke(credential=credential, reason="key leaked")
    response = _assert(client, agent, credential, private)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_replayed_assertion_is_refused_on_a_warm_cache(client, key_agent):
    agent, credential, private = key_agent
    assert _assert(client, agent, credential, private).status_code == 200
    jti = uuid.uuid4().hex
    assert _assert(client, agent, credential, private, jti=jti).status_code == 200
    before = issued()
    replay = _assert(client, agent, credential, private, jti=jti)
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"
    assert issued() == before


def test_a_stale_key_entry_leaves_the_assertion_unused_and_is_decided_again(client, key_agent):
    """The epoch moves after warm-up: the guarded statement writes neither the entry nor the
    assertion's replay-cache row, so the retry from the database can use the assertion once."""
    agent, credential, private = key_agent
    for _ in range(3):
        assert _assert(client, agent, credential, private).status_code == 200
    agent_services.agent_update(agent=agent.agent, data={"purpose": "a new purpose"})
    before = issued()
    jti = uuid.uuid4().hex
    assert _assert(client, agent, credential, private, jti=jti).status_code == 200
    assert issued() == before + 1
    assert AssertionJti.objects.filter(jti=jti).count() == 1
    assert _assert(client, agent, credential, private, jti=jti).status_code == 401


def test_an_ed25519_key_signs_as_eddsa_or_ed25519_from_the_same_remembered_client(client):
    """RFC 9864 names Ed25519 signatures ``Ed25519``; older clients say ``EdDSA``. Both reach
    the same key credential, warm or cold, and the warm one still reads nothing."""
    agent, credential, private = _agent_with_key("EdDSA")
    for alg in ("EdDSA", "Ed25519", "EdDSA", "Ed25519"):
        assert _assert(client, agent, credential, private, alg=alg).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert _assert(client, agent, credential, private, alg="Ed25519").status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]
