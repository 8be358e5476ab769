"""Fixtures of the credential tests: agents with credentials, resource servers, OAuth clients."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from django.core.cache import cache
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from agents.models import Agent, Resource
from credentials import services
from tests import factories as f


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Throttle counters live in the cache: start each test clean (the per-process memos are
    reset for every test by tests/conftest.py)."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class KeyPair:
    private_jwk: dict[str, Any]
    public_jwk: dict[str, Any]
    alg: str


def make_keypair(alg: str = "ES256") -> KeyPair:
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        priv = json.loads(ECAlgorithm.to_jwk(private))
        pub = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        priv = json.loads(OKPAlgorithm.to_jwk(private))
        pub = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    return KeyPair(private_jwk=priv, public_jwk=pub, alg=alg)


@dataclass
class AgentClient:
    agent: Agent
    client_id: str
    secret: str
    credential_id: str


def agent_with_secret(*, scopes: tuple[str, ...] = ("ledger:read",), **kwargs) -> AgentClient:
    agent = f.AgentFactory(**kwargs)
    for name in scopes:
        f.ScopeGrantFactory(agent=agent, scope=f.ScopeFactory(name=name))
    issued = services.credential_issue(agent=agent, by="system")
    return AgentClient(
        agent=agent, client_id=agent.slug, secret=issued.secret, credential_id=issued.credential.pk
    )


@dataclass
class ResourceClient:
    resource: Resource
    client_id: str
    secret: str


def resource_with_secret(**kwargs) -> ResourceClient:
    resource = f.ResourceFactory(**kwargs)
    issued = services.credential_issue(resource=resource, by="system")
    return ResourceClient(resource=resource, client_id=resource.slug, secret=issued.secret)


@pytest.fixture
def issuer(settings) -> str:
    settings.OAUTH_ISSUER = "http://testserver"
    return settings.OAUTH_ISSUER


@pytest.fixture
def live_issuer(live_server, settings) -> str:
    """A live server whose issuer (and so every ``aud`` and ``iss``) is its own URL."""
    settings.OAUTH_ISSUER = live_server.url
    return live_server.url
