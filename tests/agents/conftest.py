"""A small organisation for the registry's permission, API and admin tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from agents import services
from tests import factories as f


@dataclass
class World:
    team_a: Any
    team_b: Any
    agent_a: Any
    agent_b: Any
    version_a: Any
    grant_a: Any
    scope: Any
    resource: Any
    resource_b: Any
    conn_a: Any
    wf_a: Any
    run_a: Any
    users: dict[str, Any]


def _build_world() -> World:
    team_a = f.TeamFactory(slug="team-a")
    team_b = f.TeamFactory(slug="team-b")
    agent_a = f.AgentFactory(slug="agent-a", owner_team=team_a)
    agent_b = f.AgentFactory(slug="agent-b", owner_team=team_b)
    resource = f.ResourceFactory(slug="ledger", owner_team=team_a)
    scope = f.ScopeFactory(name="ledger:read")
    resource_b = f.ResourceFactory(slug="crm", owner_team=team_b)
    return World(
        team_a=team_a,
        team_b=team_b,
        agent_a=agent_a,
        agent_b=agent_b,
        version_a=f.AgentVersionFactory(agent=agent_a, label="1.0.0"),
        grant_a=f.ScopeGrantFactory(agent=agent_a, scope=scope),
        scope=scope,
        resource=resource,
        resource_b=resource_b,
        conn_a=f.ConnectionFactory(agent=agent_a, resource=resource),
        wf_a=f.WorkflowFactory(slug="close-a", owner_team=team_a),
        run_a=services.run_start(
            workflow=f.WorkflowFactory(slug="wf-a-runs", owner_team=team_a),
            run_id="run-a",
            triggered_by="user:test",
        ),
        users={
            "norole": f.UserFactory(username="norole", is_staff=True),
            "other": f.team_member(team_b, username="bob"),
            "own": f.team_member(team_a, username="alice"),
            "reviewer": f.security_reviewer(username="rita"),
            "admin": f.platform_admin(username="adam"),
        },
    )


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    """The world built once per module inside a transaction rolled back at the end (what
    ``TestCase.setUpTestData`` does); each test runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(_module_world, db) -> World:
    # A fresh copy per test, so in-memory changes made by one test never reach the next.
    return copy.deepcopy(_module_world)


@pytest.fixture
def api(world):
    """``api(role)``: an API client logged in (session) as that role; ``anon`` for nobody."""

    def make(role: str) -> APIClient:
        client = APIClient()
        if role != "anon":
            client.force_login(world.users[role])
        return client

    return make
