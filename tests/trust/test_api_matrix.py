"""The trust API's permissions as a matrix: role x route (reads, pins, policy changes)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests import factories as f
from trust.recompute import recompute_agents

from .conftest import sound_agent

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "norole", "other_team", "own_team", "reviewer", "admin")
# Expected status per role for: read the agent's trust, its history, pin it, read the policy,
# change the policy.
EXPECTED = {
    "anonymous": (403, 403, 403, 403, 403),
    "norole": (403, 403, 403, 403, 403),
    "other_team": (404, 404, 404, 200, 403),
    "own_team": (200, 200, 403, 200, 403),
    "reviewer": (200, 200, 201, 200, 403),
    "admin": (200, 200, 201, 200, 200),
}


@pytest.fixture
def world():
    agent = sound_agent()
    recompute_agents([agent.pk])
    return {
        "agent": agent,
        "anonymous": None,
        "norole": f.UserFactory(is_staff=True),
        "other_team": f.team_member(f.TeamFactory()),
        "own_team": f.team_member(agent.owner_team),
        "reviewer": f.security_reviewer(),
        "admin": f.platform_admin(),
    }


@pytest.mark.parametrize("role", ROLES)
def test_matrix(world, role):
    client = APIClient()
    if world[role] is not None:
        client.force_authenticate(world[role])
    base = f"/api/v1/trust/agents/{world['agent'].slug}/"
    got = (
        client.get(base).status_code,
        client.get(base + "history/").status_code,
        client.post(
            base + "pin/", {"level": "trusted", "reason": "drill"}, format="json"
        ).status_code,
        client.get("/api/v1/trust/policy/").status_code,
        client.patch(
            "/api/v1/trust/policy/", {"trusted_min": 80, "reason": "r"}, format="json"
        ).status_code,
    )
    expected = EXPECTED[role]
    if role == "anonymous":  # 401 or 403, as DRF answers without credentials
        got = tuple(403 if code == 401 else code for code in got)
    assert got == expected
