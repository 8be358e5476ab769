"""The organisation the isolation matrix runs in: team A (whose objects every route is asked
about), team B, and one of each role. See ``isolation_rules.py``."""

from __future__ import annotations

import base64
import time
from decimal import Decimal
from typing import Any

from django.test import Client

from agents import services
from agents.notices.services import notify
from agents.services import api_token_create
from credentials.services import credential_issue
from governance.approvals.services import approval_request_open
from tests import factories as f

from .isolation_newer import newer_objects

ROLES = ("admin", "reviewer", "manager", "other", "agent", "anon")


def build_world() -> dict[str, Any]:
    team_a = f.TeamFactory(slug="team-a")
    team_b = f.TeamFactory(slug="team-b")
    users = {
        "admin": f.platform_admin(username="adam"),
        "reviewer": f.security_reviewer(username="rita"),
        "manager": f.team_member(team_a, username="alice"),
        "other": f.team_member(team_b, username="bob"),
    }
    agent = f.AgentFactory(slug="agent-a", owner_team=team_a)
    f.AgentFactory(slug="agent-b", owner_team=team_b)
    resource = f.ResourceFactory(slug="ledger", owner_team=team_a)
    scope = f.ScopeFactory(name="ledger:read")
    workflow = f.WorkflowFactory(slug="close-a", owner_team=team_a)
    issued = credential_issue(agent=agent, by=users["manager"])
    world: dict[str, Any] = {
        "team": team_a,
        "agent": agent,
        "resource": resource,
        "scope": scope,
        # Through the service: the first version becomes current, so a later one that asks for
        # other access opens a scope review (newer_objects).
        "version": services.agent_version_add(
            agent=agent, label="1.0.0", config_digest=f.digest("1.0.0"), requested_scopes=[scope]
        ),
        "grant": f.ScopeGrantFactory(agent=agent, scope=scope),
        "connection": f.ConnectionFactory(agent=agent, resource=resource),
        "workflow": workflow,
        "run": services.run_start(workflow=workflow, run_id="run-a", triggered_by="user:alice"),
        "credential": issued.credential,
        "api_token": api_token_create(user=users["manager"], name="matrix")[0],
        "notice": notify(kind="matrix", subject="s", body="b", user=users["manager"]),
        "approval": approval_request_open(
            agent=agent,
            resource=resource,
            connection_id=None,
            action="read",
            cost=Decimal("1"),
            reasons=["trust_below_floor"],
        ),
        "users": users,
        "secret": issued.secret,
    }
    world["agent_token"] = (_agent_token(agent.slug, issued.secret), time.monotonic())
    world.update(newer_objects(world, team_b))
    _one_of_every_other_admin_model()
    return world


def _one_of_every_other_admin_model() -> None:
    """A row for each admin model without a team, so its object pages are asked for real."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.utils import timezone
    from django_celery_beat import models as beat

    interval = beat.IntervalSchedule.objects.create(every=1, period="minutes")
    beat.CrontabSchedule.objects.create()
    beat.SolarSchedule.objects.create(event="sunrise", latitude=0, longitude=0)
    beat.ClockedSchedule.objects.create(clocked_time=timezone.now())
    beat.PeriodicTask.objects.create(name="matrix", task="matrix.noop", interval=interval)
    now = timezone.now()
    fields = {"username": "x", "ip_address": "192.0.2.1", "user_agent": "ua"}
    AccessAttempt.objects.create(attempt_time=now, failures_since_start=1, **fields)
    AccessLog.objects.create(attempt_time=now, **fields)
    AccessFailureLog.objects.create(attempt_time=now, locked_out=False, **fields)


def agent_token(world: dict[str, Any]) -> str:
    """The agent's access token, a fresh one once half its lifetime (300 s) has passed: the
    module's world outlives it when the matrix runs slowly (a loaded CI machine)."""
    token, minted = world["agent_token"]
    if time.monotonic() - minted > 150:
        token = _agent_token(world["agent"].slug, world["secret"])
        world["agent_token"] = (token, time.monotonic())
    return token


def _agent_token(client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = Client().post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def client_for(world: dict[str, Any], role: str) -> Client:
    """A client acting as ``role``: a session for people, the agent's access token as a Bearer
    header for ``agent``, nothing for ``anon``."""
    if role == "agent":
        return Client(HTTP_AUTHORIZATION=f"Bearer {agent_token(world)}")
    client = Client()
    if role != "anon":
        client.force_login(world["users"][role])
    return client
