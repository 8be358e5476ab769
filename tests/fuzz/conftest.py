"""Fixtures of the fuzzing tests: an organisation with something of every kind in it."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests import factories as f


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fuzz_org():
    red = f.TeamFactory(slug="red", name="Red team")
    blue = f.TeamFactory(slug="blue", name="Blue team")
    ledger = f.ResourceFactory(slug="ledger", name="Ledger")
    read = f.ScopeFactory(name="ledger:read", sensitivity="low")
    ours = f.AgentFactory(slug="red-bot", owner_team=red)
    theirs = f.AgentFactory(slug="blue-bot", owner_team=blue)
    for agent in (ours, theirs):
        f.ScopeGrantFactory(agent=agent, scope=read)
        f.ConnectionFactory(agent=agent, resource=ledger)
    f.WorkflowRunFactory()
    return {
        "red": red,
        "blue": blue,
        "root": f.platform_admin(username="root"),
        "alice": f.team_member(red, username="alice"),
        "ours": ours,
        "theirs": theirs,
    }
