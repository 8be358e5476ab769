"""Agents in known states for the trust engine's tests."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from credentials.services import credential_issue
from tests import factories as f


def sound_agent(*, member: bool = True, credential: bool = True, reviewed: bool = True, **kw):
    """A freshly registered agent: an active team (with a member), a secret, a reviewed version."""
    team = kw.pop("owner_team", None) or f.TeamFactory()
    if member:
        f.team_member(team)
    # As registered: UNTRUSTED until the engine computes (the factory's default is PENDING).
    agent = f.AgentFactory(owner_team=team, **{"trust_level": "untrusted", **kw})
    version = f.AgentVersionFactory(agent=agent, reviewed=reviewed)
    agent.current_version = version
    agent.save(update_fields=["current_version"])
    if credential:
        credential_issue(agent=agent, by="system")
    return agent


@pytest.fixture
def now():
    return timezone.now()


def ago(**kw) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kw)
