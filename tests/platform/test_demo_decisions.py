"""Every action a demo connection allows can be decided (issue 11 item 2).

Before scopes belonged to resources, 14 of the demo's 22 connection actions answered 400
"unknown action": their scopes were named after something other than the resource.
"""

from __future__ import annotations

import base64
import io

import pytest
from django.core.management import call_command

from agents.models import Agent, Connection, OrganisationPolicy
from credentials import services as cred
from credentials.client_auth import ClientPrincipal
from credentials.services import token_issue

pytestmark = pytest.mark.django_db


def test_every_demo_connection_action_can_be_decided(client):
    call_command("demo_data", stdout=io.StringIO())
    # A token for every agent, the quarantined ones too (as if issued before their level fell):
    # the decision point must answer each of them.
    OrganisationPolicy.objects.update_or_create(pk=1, defaults={"quarantine_blocks_tokens": False})
    connections = list(
        Connection.objects.select_related("agent", "resource").exclude(
            agent__status=Agent.Status.DECOMMISSIONED
        )
    )
    asked = 0
    rs_auth, tokens = {}, {}
    for connection in connections:
        resource, agent = connection.resource, connection.agent
        if resource.pk not in rs_auth:
            secret = cred.credential_issue(resource=resource, by="system").secret
            basic = base64.b64encode(f"{resource.slug}:{secret}".encode()).decode()
            rs_auth[resource.pk] = f"Basic {basic}"
        if agent.pk not in tokens:
            credential = cred.credential_issue(agent=agent, by="system").credential
            tokens[agent.pk] = token_issue(
                client=ClientPrincipal(credential=credential, method="client_secret_basic"),
                scope=None,
                resources=[],
            ).access_token
        for action in connection.allowed_actions:
            response = client.post(
                "/api/v1/decisions",
                {"token": tokens[agent.pk], "action": action, "resource": resource.slug},
                content_type="application/json",
                HTTP_AUTHORIZATION=rs_auth[resource.pk],
            )
            assert response.status_code == 200, (connection, action, response.content)
            asked += 1
    assert asked >= 22
