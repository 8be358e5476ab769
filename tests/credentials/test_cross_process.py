"""Revocation is immediate across server processes: a real gunicorn with two workers.

PostgreSQL only: the gunicorn workers must see the test database, which an in-memory SQLite
database cannot offer to another process.
"""

from __future__ import annotations

import os

import httpx
import pytest
from django.db import connection

from agents import services as agent_services
from credentials.client_auth import ClientPrincipal
from credentials.models import Credential
from credentials.services import credential_revoke, token_issue
from tests.servers import free_port
from tests.servers import gunicorn as run_gunicorn

from .conftest import agent_with_secret, resource_with_secret

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gunicorn(settings):
    port = free_port()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    issuer = f"http://127.0.0.1:{port}"
    settings.OAUTH_ISSUER = issuer
    env = {**os.environ, "DATABASE_URL": url, "OAUTH_ISSUER": issuer, "LOG_LEVEL": "WARNING"}
    with run_gunicorn(port, env):
        yield issuer


def test_suspension_and_revocation_are_seen_by_every_worker_at_once(gunicorn):
    agent = agent_with_secret()
    rs = resource_with_secret(audience="https://ledger.example.test")
    from tests import factories as f

    f.ConnectionFactory(agent=agent.agent, resource=rs.resource)
    credential = Credential.objects.select_related("agent").get(pk=agent.credential_id)
    token = token_issue(client=ClientPrincipal(credential=credential, method="test")).access_token

    def introspect_many(n: int = 6) -> list[bool]:
        # New connections each time, so both workers answer some of them.
        return [
            httpx.post(
                f"{gunicorn}/oauth/introspect",
                data={"token": token},
                auth=(rs.client_id, rs.secret),
                headers={"Connection": "close"},
            ).json()["active"]
            for _ in range(n)
        ]

    assert all(introspect_many())  # every worker has verified it (keys memoised, warm)
    agent_services.agent_suspend(agent=agent.agent, reason="contain")
    assert not any(introspect_many())
    agent_services.agent_reactivate(agent=agent.agent)
    assert all(introspect_many())
    credential_revoke(credential=credential, reason="leak")
    assert not any(introspect_many())


def test_every_worker_refuses_a_remembered_client_once_it_is_suspended(gunicorn):
    """The token endpoint's per-process client cache, under a real two-worker server: every
    worker has remembered the agent, and the very next request after a suspension, to either
    worker, is refused; after reactivation and a credential revocation likewise."""
    agent = agent_with_secret()

    def statuses(n: int = 8) -> list[int]:
        return [
            httpx.post(
                f"{gunicorn}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(agent.client_id, agent.secret),
                headers={"Connection": "close"},
            ).status_code
            for _ in range(n)
        ]

    assert set(statuses()) == {200}  # both workers have authenticated it, and remember it
    agent_services.agent_suspend(agent=agent.agent, reason="contain")
    assert set(statuses()) == {401}
    agent_services.agent_reactivate(agent=agent.agent)
    assert set(statuses()) == {200}
    credential_revoke(credential=Credential.objects.get(pk=agent.credential_id), reason="leak")
    assert set(statuses()) == {401}
