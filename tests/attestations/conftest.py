"""Fixtures of the attestation tests: an organisation, two attestors, a submitting client."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests import factories as f

from .signers import CLAIMS, Signer, b64, ed25519_signer, p256_signer, register  # noqa: F401


@pytest.fixture(autouse=True)
def _clean_cache():
    """The refusal counters live in the cache: each test starts clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org():
    red = f.TeamFactory(slug="red")
    blue = f.TeamFactory(slug="blue")
    agent = f.AgentFactory(slug="red-bot", owner_team=red)
    version = f.AgentVersionFactory(agent=agent, label="1.0.0")
    agent.current_version = version
    agent.save(update_fields=["current_version"])
    return {
        "red": red,
        "blue": blue,
        "agent": agent,
        "theirs": f.AgentFactory(slug="blue-bot", owner_team=blue),
        "alice": f.team_member(red, username="alice"),
        "bob": f.team_member(blue, username="bob"),
        "rita": f.security_reviewer(username="rita"),
        "root": f.platform_admin(username="root"),
        "norole": f.UserFactory(username="norole", is_staff=True),
    }


@pytest.fixture
def ed():
    signer = ed25519_signer()
    register(signer, cap=20)
    return signer


@pytest.fixture
def ec():
    signer = p256_signer()
    register(signer, cap=15, claim_types=["config_scan"])
    return signer


def submit(jws: str, *, as_jose: bool = False, address: str = "203.0.113.9"):
    client = APIClient(REMOTE_ADDR=address)
    if as_jose:
        return client.generic(
            "POST", "/api/v1/attestations/", jws.encode(), content_type="application/jose"
        )
    return client.post("/api/v1/attestations/", {"attestation": jws}, format="json")
