"""Issue 13, item 1: a security reviewer could take over any agent by emergency rotation.

The reviewer's ``POST /api/v1/credentials/{id}/rotate/`` with ``emergency: true`` returned the
successor's secret, which then got tokens for the scopes of a team the reviewer does not
manage. Containment must only contain: a reviewer revokes; a successor and its secret go only
to the owning team's managers or platform admins. Checked in the credential service, so the
API, the portal, the admin and the CLI agree; reproduced from outside over HTTP.
"""

from __future__ import annotations

import httpx
import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from credentials import services
from credentials.errors import CredentialForbidden
from credentials.models import Credential
from tests import factories as f

from .conftest import agent_with_secret

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def victim(live_issuer):
    agent = agent_with_secret(scopes=("payroll:write",))
    return {"base": live_issuer, "agent": agent, "reviewer": f.security_reviewer()}


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_a_reviewers_emergency_rotation_hands_out_nothing(victim):
    agent, reviewer = victim["agent"], victim["reviewer"]
    cred = agent.credential_id
    before = Credential.objects.count()
    response = as_user(reviewer).post(
        f"/api/v1/credentials/{cred}/rotate/", {"emergency": True}, format="json"
    )
    assert response.status_code == 403, response.content
    body = response.content.decode()
    assert "agcs_" not in body and "client_secret" not in response.json()
    assert Credential.objects.count() == before
    assert Credential.objects.get(pk=cred).status == "active"
    assert not AuditEntry.objects.filter(action__startswith="credential.rotate").exists()

    # What the attack did next: no successor secret, so no token for the team's scopes. The
    # reviewer's containment is a revocation, and it works at once.
    response = as_user(reviewer).post(
        f"/api/v1/credentials/{cred}/revoke/", {"reason": "incident 42"}, format="json"
    )
    assert response.status_code == 200, response.content
    token = httpx.post(
        f"{victim['base']}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(agent.client_id, agent.secret),
    )
    assert token.status_code == 401


def test_the_owning_teams_manager_and_an_admin_may_rotate_in_an_emergency(victim):
    agent = victim["agent"]
    manager = f.team_member(agent.agent.owner_team)
    response = as_user(manager).post(
        f"/api/v1/credentials/{agent.credential_id}/rotate/", {"emergency": True}, format="json"
    )
    assert response.status_code == 201, response.content
    successor = response.json()
    assert successor["client_secret"].startswith("agcs_")
    token = httpx.post(
        f"{victim['base']}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(agent.client_id, successor["client_secret"]),
    )
    assert token.status_code == 200, token.text
    response = as_user(f.platform_admin()).post(
        f"/api/v1/credentials/{successor['id']}/rotate/", {"emergency": True}, format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("emergency", [True, False])
def test_the_service_refuses_a_reviewer_whoever_calls_it(victim, emergency):
    """The admin, the portal and the CLI all call this service: none can hand a reviewer a
    credential, and neither can a member of another team."""
    credential = Credential.objects.get(pk=victim["agent"].credential_id)
    outsider = f.team_member(f.TeamFactory())
    for person in (victim["reviewer"], outsider):
        with pytest.raises(CredentialForbidden):
            services.credential_rotate(credential=credential, by=person, emergency=emergency)
        with pytest.raises(CredentialForbidden):
            services.credential_issue(agent=credential.agent, by=person)
    assert Credential.objects.filter(agent=credential.agent).count() == 1
    with pytest.raises(CredentialForbidden):
        services.credential_revoke(credential=credential, by=outsider)
    services.credential_revoke(credential=credential, by=victim["reviewer"], reason="contain")
    assert Credential.objects.get(pk=credential.pk).status == "revoked"


def test_the_portal_offers_a_reviewer_no_rotation(victim, client):
    agent = victim["agent"]
    client.force_login(victim["reviewer"])
    url = f"/portal/agents/{agent.agent.slug}/credentials/{agent.credential_id}/emergency/"
    response = client.post(url, {"reason": "take over"})
    assert response.status_code in (403, 404)
    assert Credential.objects.filter(agent=agent.agent).count() == 1
