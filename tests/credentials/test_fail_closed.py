"""Fail closed: when the database refuses the issuance's audit entry, no token leaves.

The refusal is real: a trigger in the test database aborts every ``token.issue`` INSERT (the
fast paths write the entry with one hand-written INSERT, in autocommit or in the transaction
that also consumes a ``private_key_jwt`` assertion).
"""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest

from audit.models import AuditEntry
from credentials import services
from credentials.models import AssertionJti
from tests.db import statements_refused

from .conftest import agent_with_secret, make_keypair

pytestmark = pytest.mark.django_db(transaction=True)

ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def audit_refuses_token_issue():
    return statements_refused(
        AuditEntry._meta.db_table, when="NEW.action = 'token.issue'", name="test_refuse_issue"
    )


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "temporarily_unavailable"
    assert "access_token" not in response.text
    assert response.headers["cache-control"] == "no-store"


def test_client_secret_basic_issues_nothing_when_the_audit_entry_is_refused(live_issuer):
    agent = agent_with_secret()
    url = f"{live_issuer}/oauth/token"
    auth = (agent.client_id, agent.secret)
    with audit_refuses_token_issue():
        assert_unavailable(httpx.post(url, data={"grant_type": "client_credentials"}, auth=auth))
    assert not AuditEntry.objects.filter(action="token.issue").exists()
    # The endpoint is fine again once the database takes entries.
    ok = httpx.post(url, data={"grant_type": "client_credentials"}, auth=auth)
    assert ok.status_code == 200, ok.text
    assert AuditEntry.objects.filter(action="token.issue").count() == 1


def test_private_key_jwt_refused_audit_rolls_back_the_replay_entry_too(live_issuer):
    agent = agent_with_secret()
    keypair = make_keypair("ES256")
    credential = services.credential_issue(
        agent=agent.agent, kind="public_key", public_jwk=keypair.public_jwk
    ).credential
    url = f"{live_issuer}/oauth/token"
    now = int(time.time())
    jti = uuid.uuid4().hex
    claims = {"iss": agent.client_id, "sub": agent.client_id, "aud": url, "iat": now}
    assertion = jwt.encode(
        {**claims, "exp": now + 60, "jti": jti},
        jwt.PyJWK(keypair.private_jwk).key,
        algorithm="ES256",
        headers={"kid": credential.pk},
    )
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION,
        "client_assertion": assertion,
    }
    with audit_refuses_token_issue():
        assert_unavailable(httpx.post(url, data=data))
    # One transaction: the jti went with the refused entry, so nothing was used up...
    assert not AssertionJti.objects.filter(jti=jti).exists()
    assert not AuditEntry.objects.filter(action="token.issue").exists()
    ok = httpx.post(url, data=data)
    assert ok.status_code == 200, ok.text
    # ...and once it has been used, it is used.
    replay = httpx.post(url, data=data)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    assert AuditEntry.objects.filter(action="token.issue").count() == 1
