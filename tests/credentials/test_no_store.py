"""Issue 13, item 8: every response that carries a new secret says ``Cache-Control: no-store``.

A secret is shown once; a browser, proxy or CDN cache must not keep that one copy (RFC 9111
§5.2.2.5; RFC 6749 §5.1 for token responses). Every place that returns a secret is listed
here — the API (credential issue, rotate, self-rotation, personal API tokens), the admin
(credential issue, API token), the portal (issue, rotate, emergency rotation) and the token
endpoint — and each answer is checked, together with the secret actually being in it.
"""

from __future__ import annotations

import base64
import re

import pytest
from rest_framework.test import APIClient

from agents.models import ApiToken
from credentials.models import Credential
from tests import factories as f

from .conftest import agent_with_secret

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"agcs_[0-9a-f]{16}_[0-9a-f]{64}_[0-9a-f]{8}")


def assert_no_store(response, *, secret: re.Pattern | str = SECRET) -> None:
    body = response.content.decode()
    assert response.status_code in (200, 201), body[:500]
    found = secret.search(body) if isinstance(secret, re.Pattern) else secret in body
    assert found, "the response should carry the secret it is about"
    assert "no-store" in response["Cache-Control"], response["Cache-Control"]


@pytest.fixture
def owned():
    agent = agent_with_secret()
    manager = f.team_member(agent.agent.owner_team)
    return agent, manager


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_api_issue_rotate_and_emergency_rotate(owned):
    agent, manager = owned
    client = api(manager)
    issued = client.post(
        "/api/v1/credentials/", {"agent": agent.client_id, "kind": "client_secret"}, format="json"
    )
    assert_no_store(issued)
    assert issued["Pragma"] == "no-cache"
    rotated = client.post(f"/api/v1/credentials/{issued.json()['id']}/rotate/", {}, format="json")
    assert_no_store(rotated)
    emergency = client.post(
        f"/api/v1/credentials/{rotated.json()['id']}/rotate/", {"emergency": True}, format="json"
    )
    assert_no_store(emergency)


def test_self_rotation_and_the_token_endpoint(owned, client):
    agent, _ = owned
    auth = {"HTTP_AUTHORIZATION": basic(agent.client_id, agent.secret)}
    form = "application/x-www-form-urlencoded"
    assert_no_store(client.post("/api/v1/credentials/rotate", "", content_type=form, **auth))
    token = client.post("/oauth/token", "grant_type=client_credentials", content_type=form, **auth)
    assert_no_store(token, secret='"access_token"')


def test_personal_api_token_by_api_and_admin(owned, client):
    _, manager = owned
    created = api(manager).post("/api/v1/tokens/", {"name": "ci"}, format="json")
    assert_no_store(created, secret=created.json()["token"])
    client.force_login(manager)
    response = client.post("/admin/agents/apitoken/add/", {"name": "ci-2"})
    assert ApiToken.objects.filter(name="ci-2").exists()
    assert "no-store" in response["Cache-Control"]


def test_admin_credential_issue(owned, client):
    agent, manager = owned
    client.force_login(manager)
    response = client.post(
        "/admin/credentials/credential/add/", {"agent": agent.agent.pk, "kind": "client_secret"}
    )
    assert_no_store(response)


@pytest.mark.parametrize("page", ["new", "rotate", "emergency"])
def test_portal_pages_that_show_a_secret(owned, client, page):
    agent, manager = owned
    client.force_login(manager)
    base = f"/portal/agents/{agent.agent.slug}/credentials/"
    if page == "new":
        response = client.post(f"{base}new/", {"kind": "client_secret", "label": "x"})
    else:
        response = client.post(f"{base}{agent.credential_id}/{page}/", {"reason": "test"})
    assert_no_store(response)
    assert Credential.objects.filter(agent=agent.agent).count() == 2


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
