"""Fixtures of the portal tests: two teams, their people, agents, scopes and resources."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests import factories as f


@pytest.fixture(autouse=True)
def _clean_cache():
    """Throttle counters and remembered clients live in the cache: start each test clean."""
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def org():
    red = f.TeamFactory(slug="red", name="Red team")
    blue = f.TeamFactory(slug="blue", name="Blue team")
    ledger = f.ResourceFactory(slug="ledger", name="Ledger")
    return {
        "red": red,
        "blue": blue,
        "alice": f.team_member(red, username="alice"),
        "bob": f.team_member(blue, username="bob"),
        "rita": f.security_reviewer(username="rita"),
        "root": f.platform_admin(username="root"),
        "ours": f.AgentFactory(slug="red-bot", display_name="Red bot", owner_team=red),
        "theirs": f.AgentFactory(slug="blue-bot", owner_team=blue),
        "ledger": ledger,
        "wiki": f.ResourceFactory(slug="wiki", name="Wiki"),
        "read": f.ScopeFactory(name="ledger:read", sensitivity="low"),
        "write": f.ScopeFactory(name="ledger:write", sensitivity="low"),
        "pay": f.ScopeFactory(name="payments:initiate", sensitivity="critical"),
    }
