"""Bad input to every registry endpoint: 400 naming the field (or 409 for a state conflict),
nothing written, no audit entry; and list query counts that do not grow with the rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents import models as m
from agents import services
from audit.models import AuditEntry
from tests import factories as f

MODELS = [
    m.Team,
    m.Agent,
    m.AgentVersion,
    m.Scope,
    m.ScopeGrant,
    m.Resource,
    m.Connection,
    m.Workflow,
    m.WorkflowRun,
    m.ApiToken,
]


def _counts():
    return {model.__name__: model.objects.count() for model in MODELS} | {
        "audit": AuditEntry.objects.count()
    }


BAD_CREATES = [
    ("teams", {"slug": "Bad Slug", "name": ""}, {"slug", "name"}),
    ("teams", {"slug": "team-a", "name": "Duplicate"}, {"slug"}),
    ("teams", {"slug": "ok", "name": "Ok", "members": ["nobody"]}, {"members"}),
    ("agents", {}, {"slug", "display_name", "purpose", "owner_team"}),
    (
        "agents",
        {"slug": "a:b", "display_name": "x", "purpose": "x", "owner_team": "team-a"},
        {"slug"},
    ),
    (
        "agents",
        {"slug": "agent-a", "display_name": "x", "purpose": "x", "owner_team": "team-a"},
        {"slug"},
    ),
    (
        "agents",
        {"slug": "ok", "display_name": "x", "purpose": "x", "owner_team": "nope"},
        {"owner_team"},
    ),
    (
        "agents",
        {
            "slug": "ok",
            "display_name": "x",
            "purpose": "x",
            "owner_team": "team-a",
            "version_label": "1",
        },
        {"config_digest"},
    ),
    (
        "agent-versions",
        {"agent": "agent-a", "label": "2", "config_digest": "md5:x"},
        {"config_digest"},
    ),
    (
        "agent-versions",
        {
            "agent": "agent-a",
            "label": "2",
            "config_digest": "sha256:" + "a" * 64,
            "requested_scopes": ["nope:x"],
        },
        {"requested_scopes"},
    ),
    ("scopes", {"resource": "crm", "action": "No Colon!"}, {"action"}),
    ("scopes", {"resource": "nowhere", "action": "read"}, {"resource"}),
    ("scopes", {"resource": None, "action": "read"}, {"resource"}),
    ("scopes", {"resource": "crm", "action": "read", "sensitivity": "extreme"}, {"sensitivity"}),
    ("grants", {"agent": "agent-a", "scope": "ledger:read"}, {"justification"}),
    ("grants", {"agent": "agent-a", "scope": "nope:read", "justification": "x"}, {"scope"}),
    (
        "grants",
        {"agent": "agent-a", "scope": "ledger:write", "justification": "x", "expires_at": "soon"},
        {"expires_at"},
    ),
    (
        "resources",
        {"slug": "x", "name": "X", "audience": "not a url", "owner_team": "team-a"},
        {"audience"},
    ),
    ("resources", {"slug": "x", "name": "X", "audience": "https://x.test"}, {"owner_team"}),
    (
        "connections",
        {"agent": "agent-a", "resource": "crm", "allowed_actions": []},
        {"allowed_actions"},
    ),
    (
        "connections",
        {"agent": "agent-a", "resource": "crm", "allowed_actions": ["read"], "rate_limit": -1},
        {"rate_limit"},
    ),
    (
        "connections",
        {"agent": "agent-a", "resource": "crm", "allowed_actions": ["Read:All"]},
        {"allowed_actions"},
    ),
    (
        "connections",
        {"agent": "agent-a", "resource": "crm", "allowed_actions": ["read"], "trust_floor": "max"},
        {"trust_floor"},
    ),
    ("workflows", {"slug": "wf", "name": "W", "owner_team": "team-b"}, {"owner_team"}),
    ("workflows", {"slug": "close-a", "name": "W", "owner_team": "team-a"}, {"slug"}),
    ("runs", {"workflow": "close-a", "run_id": "run-a"}, {"run_id"}),
    ("runs", {"workflow": "close-a", "run_id": "bad id!"}, {"run_id"}),
    ("runs", {"workflow": "close-a", "run_id": "r2", "deadline": "tomorrow"}, {"deadline"}),
    ("tokens", {"name": ""}, {"name"}),
    ("tokens", {"name": "x", "expires_at": "never"}, {"expires_at"}),
]


@pytest.mark.parametrize(("endpoint", "body", "fields"), BAD_CREATES)
def test_bad_create_is_a_400_naming_the_field_and_writes_nothing(
    world, api, endpoint, body, fields
):
    f.ScopeFactory(name="ledger:write")
    role = "admin" if endpoint in ("teams", "scopes") else "own"
    before = _counts()
    response = api(role).post(f"/api/v1/{endpoint}/", body, format="json")
    assert response.status_code == 400, response.content
    assert fields <= set(response.json()), response.json()
    assert _counts() == before


BAD_UPDATES = [
    ("agents", lambda w: w.agent_a.slug, {"owner_team": "team-b"}, {"owner_team"}),
    ("agents", lambda w: w.agent_a.slug, {"display_name": ""}, {"display_name"}),
    ("teams", lambda w: w.team_a.slug, {"name": ""}, {"name"}),
    ("connections", lambda w: w.conn_a.pk, {"budget_cap": "lots"}, {"budget_cap"}),
    ("connections", lambda w: w.conn_a.pk, {"allowed_actions": "read"}, {"allowed_actions"}),
    ("workflows", lambda w: w.wf_a.slug, {"owner_team": "team-b"}, {"owner_team"}),
    ("resources", lambda w: w.resource.slug, {"sensitivity": "none"}, {"sensitivity"}),
    ("scopes", lambda w: w.scope.name, {"sensitivity": "none"}, {"sensitivity"}),
]


@pytest.mark.parametrize(("endpoint", "key", "body", "fields"), BAD_UPDATES)
def test_bad_update_is_a_400_naming_the_field_and_writes_nothing(
    world, api, endpoint, key, body, fields
):
    role = "admin" if endpoint in ("teams", "scopes") else "own"
    before = _counts()
    response = api(role).patch(f"/api/v1/{endpoint}/{key(world)}/", body, format="json")
    assert response.status_code == 400, response.content
    assert fields <= set(response.json())
    assert _counts() == before


def test_slug_and_status_cannot_be_changed_by_update(world, api):
    response = api("own").patch(
        "/api/v1/agents/agent-a/", {"slug": "renamed", "status": "decommissioned"}, format="json"
    )
    assert response.status_code == 200
    agent = m.Agent.objects.get(pk=world.agent_a.pk)
    assert (agent.slug, agent.status) == ("agent-a", "active")


@pytest.mark.parametrize(
    ("setup", "url", "status", "message"),
    [
        (
            lambda w: None,
            "/api/v1/agents/agent-a/reactivate/",
            409,
            "cannot reactivate agent agent-a: it is active",
        ),
        (
            lambda w: services.agent_decommission(agent=w.agent_a),
            "/api/v1/agents/agent-a/suspend/",
            409,
            "cannot suspend agent agent-a: it is decommissioned",
        ),
        (
            lambda w: services.scope_revoke(grant=w.grant_a),
            "/api/v1/grants/{grant}/revoke/",
            409,
            "is already revoked",
        ),
        (
            lambda w: services.run_cancel(run=w.run_a),
            "/api/v1/runs/run-a/complete/",
            409,
            "run run-a is already cancelled",
        ),
    ],
)
def test_invalid_lifecycle_transitions_are_clear_conflicts(world, api, setup, url, status, message):
    setup(world)
    before = _counts()
    response = api("admin").post(url.format(grant=world.grant_a.pk), {"reason": "x"}, format="json")
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert _counts() == before


def test_lifecycle_round_trip_through_the_api(world, api):
    client = api("own")
    for verb, status in [
        ("suspend", "suspended"),
        ("reactivate", "active"),
        ("decommission", "decommissioned"),
    ]:
        response = client.post(f"/api/v1/agents/agent-a/{verb}/", {"reason": verb}, format="json")
        assert response.status_code == 200
        assert response.json()["status"] == status
        assert response.json()["status_reason"] == verb
    actions = list(
        AuditEntry.objects.filter(resource="agent:agent-a", action__startswith="agent.")
        .order_by("id")
        .values_list("action", "actor")
    )
    assert actions[-3:] == [
        ("agent.suspend", "user:alice"),
        ("agent.reactivate", "user:alice"),
        ("agent.decommission", "user:alice"),
    ]


def test_grant_to_a_suspended_agent_is_a_400_with_the_reason(world, api):
    services.agent_suspend(agent=world.agent_a)
    f.ScopeFactory(name="ledger:write")
    before = _counts()
    response = api("own").post(
        "/api/v1/grants/",
        {"agent": "agent-a", "scope": "ledger:write", "justification": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert "grants need an active agent" in response.json()["detail"]
    assert _counts() == before


def test_duplicate_grant_is_a_conflict(world, api):
    response = api("own").post(
        "/api/v1/grants/",
        {"agent": "agent-a", "scope": "ledger:read", "justification": "again"},
        format="json",
    )
    assert response.status_code == 409
    assert "already holds ledger:read" in response.json()["detail"]


def test_malformed_json_and_bad_filters_are_400(world, api):
    client = api("own")
    response = client.generic(
        "POST", "/api/v1/agents/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert client.get("/api/v1/agents/?status=sleeping").status_code == 400
    assert client.get("/api/v1/agents/?created_after=yesterday").status_code == 400


def test_filters_search_and_ordering(world, api):
    client = api("reviewer")
    assert [
        a["slug"] for a in client.get("/api/v1/agents/?owner_team=team-b").json()["results"]
    ] == ["agent-b"]
    assert client.get("/api/v1/agents/?search=agent-a").json()["count"] == 1
    slugs = [a["slug"] for a in client.get("/api/v1/agents/?ordering=-slug").json()["results"]]
    assert slugs == sorted(slugs, reverse=True)
    assert client.get("/api/v1/grants/?agent=agent-a&status=active").json()["count"] == 1
    page = client.get("/api/v1/agents/?limit=1").json()
    assert len(page["results"]) == 1 and page["next"]


LIST_ENDPOINTS = [
    "teams",
    "agents",
    "agent-versions",
    "grants",
    "connections",
    "workflows",
    "runs",
    "resources",
    "scopes",
]


def _grow(world, n):
    scope = world.scope
    for i in range(n):
        agent = f.AgentFactory(owner_team=world.team_a if i % 2 else world.team_b)
        f.AgentVersionFactory(agent=agent)
        f.ScopeGrantFactory(agent=agent, scope=scope)
        f.ConnectionFactory(agent=agent, resource=world.resource)
        wf = f.WorkflowFactory(owner_team=agent.owner_team)
        f.WorkflowRunFactory(workflow=wf)
        f.ResourceFactory(owner_team=agent.owner_team)
        f.ScopeFactory()
        team = f.TeamFactory()
        team.members.add(world.users["own"])


@pytest.mark.parametrize("role", ["own", "reviewer"])
def test_list_queries_do_not_grow_with_rows(world, api, role):
    client = api(role)
    for endpoint in LIST_ENDPOINTS:
        client.get(f"/api/v1/{endpoint}/")  # warm up
    small = {}
    for endpoint in LIST_ENDPOINTS:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/v1/{endpoint}/").status_code == 200
        small[endpoint] = len(ctx.captured_queries)
    _grow(world, 12)
    for endpoint in LIST_ENDPOINTS:
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(f"/api/v1/{endpoint}/").json()
        assert body["count"] > 1
        assert len(ctx.captured_queries) == small[endpoint], endpoint


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/agents/agent-a/suspend/",
        "/api/v1/agents/agent-a/decommission/",
        "/api/v1/grants/{grant}/revoke/",
        "/api/v1/runs/run-a/complete/",
        "/api/v1/runs/run-a/cancel/",
    ],
)
@pytest.mark.parametrize("body", [{"reason": "x" * 2001}, {"reason": ["a", "list"]}])
def test_bad_action_body_is_a_400_on_reason_and_changes_nothing(world, api, url, body):
    before = _counts()
    response = api("own").post(url.format(grant=world.grant_a.pk), body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"reason"}
    assert _counts() == before
    assert m.Agent.objects.get(pk=world.agent_a.pk).status == "active"
    assert m.WorkflowRun.objects.get(pk=world.run_a.pk).status == "running"
