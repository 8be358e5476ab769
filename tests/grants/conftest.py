"""Fixtures of the governed-grants tests: two teams, their people, scopes of each sensitivity."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from agents import services
from tests import factories as f
from tests.portal.conftest import _clean_cache, client_for  # noqa: F401


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def org(db):
    red = f.TeamFactory(slug="red", name="Red team")
    blue = f.TeamFactory(slug="blue", name="Blue team")
    payments = f.ResourceFactory(slug="payments", owner_team=blue)
    insider = f.security_reviewer(username="insider")  # a reviewer who is also in team red
    red.members.add(insider)
    return {
        "red": red,
        "blue": blue,
        "alice": f.team_member(red, username="alice"),
        "bob": f.team_member(blue, username="bob"),
        "rita": f.security_reviewer(username="rita"),
        "insider": insider,
        "root": f.platform_admin(username="root"),
        "ours": f.AgentFactory(slug="red-bot", owner_team=red),
        "payments": payments,
        "low": f.ScopeFactory(name="payments:read", sensitivity="low"),
        "high": f.ScopeFactory(name="payments:refund", sensitivity="high"),
        "critical": f.ScopeFactory(name="payments:initiate", sensitivity="critical"),
    }


@pytest.fixture
def moved(org):
    """red-bot runs 1.0 with payments:read; 1.1 asks for payments:refund instead."""
    agent = org["ours"]
    services.agent_version_add(
        agent=agent,
        label="1.0",
        config_digest=f.digest("1.0"),
        requested_scopes=[org["low"]],
        by=org["alice"],
    )
    services.scope_grant(agent=agent, scope=org["low"], justification="reads", by=org["alice"])
    version = services.agent_version_add(
        agent=agent,
        label="1.1",
        config_digest=f.digest("1.1"),
        requested_scopes=[org["high"]],
        by=org["alice"],
    )
    return version
