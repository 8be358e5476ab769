"""Fixtures of the decision tests: a resource server, an agent with a token, and ``decide``."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache

from agents.models import Agent, Connection, OrganisationPolicy, Resource
from credentials import services as cred
from credentials.client_auth import ClientPrincipal
from credentials.models import Credential
from credentials.services import token_issue
from tests import factories as f
from trust.services import trust_level_set


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """The Django cache (throttle counters) starts each test empty; the per-process caches are
    forgotten for every test by tests/conftest.py."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(params=["database", "redis"])
def backend(request, settings):
    """Every decision test runs on both counter backends."""
    settings.RATE_LIMIT_PREFIX = f"test-dec-{uuid.uuid4().hex}"
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("redis_url")
    settings.RATE_LIMIT_BACKEND = request.param
    yield request.param
    if request.param == "redis":
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"{settings.RATE_LIMIT_PREFIX}:*"):
            client.delete(key)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class World:
    resource: Resource
    rs_auth: str
    agent: Agent
    agent_credential: Credential
    connection: Connection
    extra: dict[str, Any] = field(default_factory=dict)

    def token(self, *, scope: str | None = None, agent: Agent | None = None) -> str:
        credential = self.agent_credential
        if agent is not None and agent != self.agent:
            credential = cred.credential_issue(agent=agent, by="system").credential
        return token_issue(
            client=ClientPrincipal(credential=credential, method="client_secret_basic"),
            scope=scope,
            resources=[self.resource.audience],
        ).access_token

    def decide(self, client, **body) -> Any:
        body.setdefault("resource", self.resource.slug)
        body.setdefault("action", "read")
        if "token" not in body:
            body["token"] = self.token()
        return client.post(
            "/api/v1/decisions",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=self.rs_auth,
        )


def make_world(
    *,
    level: str = "trusted",
    actions: tuple[str, ...] = ("read", "write"),
    granted: tuple[str, ...] = ("read", "write"),
    **connection: Any,
) -> World:
    resource = f.ResourceFactory(slug=f"ledger-{uuid.uuid4().hex[:8]}")
    rs = cred.credential_issue(resource=resource, by="system")
    agent = f.AgentFactory(trust_level="untrusted")
    if level == "untrusted":
        # The decision point judges tokens issued before the agent was quarantined; the token
        # endpoint's own refusal is tested in tests/credentials/test_quarantine.py.
        OrganisationPolicy.objects.update_or_create(
            pk=1, defaults={"quarantine_blocks_tokens": False}
        )
    for action in {*actions, *granted, "delete"}:
        f.ScopeFactory(name=f"{resource.slug}:{action}")
    for action in granted:
        f.ScopeGrantFactory(agent=agent, scope=f.ScopeFactory(name=f"{resource.slug}:{action}"))
    connection.setdefault("allowed_actions", list(actions))
    conn = f.ConnectionFactory(agent=agent, resource=resource, **connection)
    if level != "untrusted":
        trust_level_set(
            agent=agent,
            score=80 if level == "trusted" else 50,
            level=level,
            reason="test",
            by="system",
        )
    agent.refresh_from_db()
    issued = cred.credential_issue(agent=agent, by="system")
    return World(
        resource=resource,
        rs_auth=basic(resource.slug, rs.secret),
        agent=agent,
        agent_credential=issued.credential,
        connection=conn,
        extra={"rs_secret": rs.secret},
    )


@pytest.fixture
def world(db, backend) -> World:
    return make_world()


__all__ = ["Decimal", "World", "basic", "make_world"]
