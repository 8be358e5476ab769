"""Issue 13, item 6: a token's scopes are only as good as the grants behind them, right now.

Introspection used to report the ``scope`` claim as issued until the token expired, so a
resource server kept honouring a scope a manager had just revoked. Reproduced from outside: a
live server, the grant revoked through the management API, introspection over raw HTTP.
"""

from __future__ import annotations

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agents.models import ScopeGrant
from credentials.token_check import check_access_token
from tests import factories as f
from trust.services import trust_level_set

from .conftest import agent_with_secret, resource_with_secret

pytestmark = pytest.mark.django_db(transaction=True)

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"


@pytest.fixture
def setup(live_issuer):
    a = agent_with_secret(scopes=("ledger:read", "ledger:write"))
    rs = resource_with_secret(slug="ledger", audience="https://ledger.example.test")
    f.ConnectionFactory(agent=a.agent, resource=rs.resource, allowed_actions=["read", "write"])
    manager = f.team_member(a.agent.owner_team)
    api = APIClient()
    api.force_login(manager)
    return {"base": live_issuer, "a": a, "rs": rs, "api": api}


def token(base: str, client, **data) -> str:
    response = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", **data},
        auth=(client.client_id, client.secret),
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def introspect(setup, value: str) -> dict:
    rs = setup["rs"]
    response = httpx.post(
        f"{setup['base']}/oauth/introspect", data={"token": value}, auth=(rs.client_id, rs.secret)
    )
    assert response.status_code == 200, response.text
    return response.json()


def revoke_grant(setup, agent, name: str) -> None:
    grant = ScopeGrant.objects.get(agent=agent, scope__name=name, status="active")
    response = setup["api"].post(
        f"/api/v1/grants/{grant.pk}/revoke/", {"reason": "no longer needed"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_a_revoked_grant_leaves_introspection_at_once_and_the_last_one_ends_the_token(setup):
    a = setup["a"]
    value = token(setup["base"], a)
    assert introspect(setup, value)["scope"] == "ledger:read ledger:write"

    revoke_grant(setup, a.agent, "ledger:write")
    info = introspect(setup, value)
    assert info["active"] is True
    assert info["scope"] == "ledger:read"

    revoke_grant(setup, a.agent, "ledger:read")
    assert introspect(setup, value) == {"active": False}


def test_a_delegated_token_loses_the_scope_its_actor_lost(setup):
    a = setup["a"]
    b = agent_with_secret(scopes=("ledger:read", "ledger:write"))
    manager_b = f.team_member(b.agent.owner_team)
    setup["api"].force_login(manager_b)
    response = httpx.post(
        f"{setup['base']}/oauth/token",
        data={
            "grant_type": EXCHANGE,
            "subject_token": token(setup["base"], a),
            "subject_token_type": AT,
            "actor_token": token(setup["base"], b),
            "actor_token_type": AT,
        },
        auth=(b.client_id, b.secret),
    )
    assert response.status_code == 200, response.text
    delegated = response.json()["access_token"]
    assert introspect(setup, delegated)["scope"] == "ledger:read ledger:write"

    for agent in (a.agent, b.agent):
        trust_level_set(agent=agent, score=90, level="trusted", reason="test", by="system")
    assert decide(setup, delegated, "write")["decision"] == "allow"

    # The actor (b), not the subject, loses ledger:write: the delegated token loses it too,
    # at introspection and at the decision point.
    revoke_grant(setup, b.agent, "ledger:write")
    assert introspect(setup, delegated)["scope"] == "ledger:read"
    assert check_access_token(delegated).scopes == frozenset({"ledger:read"})
    denied = decide(setup, delegated, "write")
    assert (denied["decision"], denied["reasons"]) == ("deny", ["scope_not_granted"])
    assert decide(setup, delegated, "read")["decision"] == "allow"


def decide(setup, value: str, action: str) -> dict:
    rs = setup["rs"]
    response = httpx.post(
        f"{setup['base']}/api/v1/decisions",
        json={"token": value, "action": action, "resource": "ledger"},
        auth=(rs.client_id, rs.secret),
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.process_caches  # one query with the signing key memoised
def test_the_live_scopes_cost_no_extra_query(setup):
    value = token(setup["base"], setup["a"])
    check_access_token(value)  # warm the key memo
    with CaptureQueriesContext(connection) as queries:
        check = check_access_token(value)
    assert len(queries) == 1
    assert check.scopes == frozenset({"ledger:read", "ledger:write"})
