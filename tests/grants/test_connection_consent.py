"""Connection consent (issue 13 item 4), from outside: a member of team A connects her agent to
team B's critical resource; the connection waits for B and decides nothing until B consents.
"""

from __future__ import annotations

import base64

import pytest

from agents.models import Connection
from audit.models import AuditEntry
from credentials import services as cred
from credentials.client_auth import ClientPrincipal
from credentials.errors import OAuthError
from credentials.services import token_issue
from tests import factories as f
from trust.services import trust_level_set

from .conftest import api_for

pytestmark = pytest.mark.django_db


def _token(agent, resources) -> str:
    credential = cred.credential_issue(agent=agent, by="system").credential
    return token_issue(
        client=ClientPrincipal(credential=credential, method="client_secret_basic"),
        scope=None,
        resources=resources,
    ).access_token


def _decide(client, agent, resource, rs_secret, token=None) -> dict:
    token = token or _token(agent, [resource.audience])
    basic = base64.b64encode(f"{resource.slug}:{rs_secret}".encode()).decode()
    response = client.post(
        "/api/v1/decisions",
        {"token": token, "action": "read", "resource": resource.slug},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_a_connection_to_another_teams_resource_waits_for_its_consent(org, client):
    payments, agent = org["payments"], org["ours"]  # payments is team blue's; red-bot is red's
    f.ScopeGrantFactory(agent=agent, scope=org["low"])  # payments:read, granted
    trust_level_set(agent=agent, score=90, level="trusted", reason="t", by="system")
    rs_secret = cred.credential_issue(resource=payments, by="system").secret
    response = api_for(org["alice"]).post(
        "/api/v1/connections/",
        {"agent": "red-bot", "resource": "payments", "allowed_actions": ["read"]},
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    connection = Connection.objects.get()
    # Unusable: no token for the resource's audience, and the decision point sees no connection.
    with pytest.raises(OAuthError, match="not available"):
        _token(agent, [payments.audience])
    asked = _decide(client, agent, payments, rs_secret, token=_token(agent, []))
    assert asked["decision"] == "deny"
    # Blue's owners see it (and the decision on their resource), red cannot consent for them.
    listed = api_for(org["bob"]).get("/api/v1/connections/?resource_owner=blue").json()
    assert [c["id"] for c in listed["results"]] == [connection.pk]
    assert AuditEntry.objects.filter(action="decision", resource="payments").exists()
    consent = f"/api/v1/connections/{connection.pk}/consent/"
    assert api_for(org["alice"]).post(consent, {"accept": True}).status_code == 403
    assert api_for(org["rita"]).post(consent, {"accept": True}).status_code == 403
    assert (
        api_for(org["bob"])
        .patch(f"/api/v1/connections/{connection.pk}/", {"rate_limit": 1})
        .status_code
        == 403
    )  # owners consent; they do not edit another team's connection
    response = api_for(org["bob"]).post(consent, {"accept": True, "comment": "read only"})
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert _decide(client, agent, payments, rs_secret)["decision"] == "allow"
    assert AuditEntry.objects.filter(action="connection.accept", actor="user:bob").exists()


def test_declined_and_same_team_and_admin_connections(org):
    blue_bot = f.AgentFactory(slug="blue-bot", owner_team=org["blue"])
    own = api_for(org["bob"]).post(
        "/api/v1/connections/",
        {"agent": "blue-bot", "resource": "payments", "allowed_actions": ["read"]},
    )
    assert own.json()["status"] == "active"  # its own team's resource: no consent
    Connection.objects.filter(agent=blue_bot).delete()
    by_admin = api_for(org["root"]).post(
        "/api/v1/connections/",
        {"agent": "red-bot", "resource": "payments", "allowed_actions": ["read"]},
    )
    assert by_admin.json()["status"] == "active"  # a platform admin speaks for every team
    Connection.objects.all().delete()
    api_for(org["alice"]).post(
        "/api/v1/connections/",
        {"agent": "red-bot", "resource": "payments", "allowed_actions": ["read"]},
    )
    connection = Connection.objects.get()
    other = f.team_member(f.TeamFactory(slug="green"), username="gina")
    consent = f"/api/v1/connections/{connection.pk}/consent/"
    assert api_for(other).post(consent, {"accept": True}).status_code == 404
    api_for(org["bob"]).post(consent, {"accept": False, "comment": "no"})
    connection.refresh_from_db()
    assert connection.status == "declined"
    assert api_for(org["bob"]).post(consent, {"accept": True}).status_code == 409


def test_resource_owners_page_by_url_and_form_post(org):
    from .conftest import client_for

    api_for(org["alice"]).post(
        "/api/v1/connections/",
        {"agent": "red-bot", "resource": "payments", "allowed_actions": ["read"]},
    )
    connection = Connection.objects.get()
    page = "/portal/resources/payments/"
    alice = client_for(org["alice"])  # the agent's team, not the resource's
    assert alice.get(page).status_code == 404
    assert alice.post(page, {"connection": connection.pk, "accept": "1"}).status_code == 404
    assert b"payments" not in alice.get("/portal/resources/").content
    bob = client_for(org["bob"])
    shown = bob.get(page).content.decode()
    assert "agent:red-bot" in shown and "Red team" in shown and "Accept" in shown
    response = bob.post(page, {"connection": connection.pk, "accept": "1", "comment": "ok"})
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == "active"


def test_another_resources_connection_is_404_through_ones_own_page(org):
    """Bob's team owns payments; a connection to a resource of another team, posted through
    his own resource's page, is not found and does not change."""
    from .conftest import client_for

    other = f.TeamFactory(slug="green")
    vault = f.ResourceFactory(slug="vault", name="Vault", owner_team=other)
    connection = f.ConnectionFactory(agent=org["ours"], resource=vault, status="pending")
    bob = client_for(org["bob"])
    assert bob.get("/portal/resources/vault/").status_code == 404
    body = {"connection": connection.pk, "accept": "1"}
    for page in ("/portal/resources/vault/", "/portal/resources/payments/"):  # theirs, his own
        assert bob.post(page, body).status_code == 404, page
    connection.refresh_from_db()
    assert connection.status == "pending"
