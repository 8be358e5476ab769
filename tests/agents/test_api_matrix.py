"""The permission matrix of every registry endpoint: anonymous, no role, other team, own team,
reviewer, admin. Another team's objects are a 404 (no data), never a 403."""

from __future__ import annotations

import pytest

from agents.models import Agent, Connection, ScopeGrant, WorkflowRun
from audit.models import AuditEntry

ROLES = ["anon", "norole", "other", "own", "reviewer", "admin"]

# endpoint -> how to name team A's object in its URL
TEAM_SCOPED = {
    "teams": lambda w: w.team_a.slug,
    "agents": lambda w: w.agent_a.slug,
    "agent-versions": lambda w: w.version_a.pk,
    "grants": lambda w: w.grant_a.pk,
    "connections": lambda w: w.conn_a.pk,
    "workflows": lambda w: w.wf_a.slug,
    "runs": lambda w: w.run_a.run_id,
}
CATALOGUE = {
    "scopes": lambda w: w.scope.name,
    "resources": lambda w: w.resource.slug,
}

READ = {"anon": 401, "norole": 403, "other": 404, "own": 200, "reviewer": 200, "admin": 200}
READ_CATALOGUE = {**READ, "other": 200}


def _cases(table, expected):
    return [(name, role, expected[role]) for name in table for role in ROLES]


@pytest.mark.parametrize(("endpoint", "role", "status"), _cases(TEAM_SCOPED, READ))
def test_retrieve_team_scoped(world, api, endpoint, role, status):
    response = api(role).get(f"/api/v1/{endpoint}/{TEAM_SCOPED[endpoint](world)}/")
    assert response.status_code == status, response.content
    if status == 404:
        assert set(response.json()) == {"detail"}  # nothing of the object leaks


@pytest.mark.parametrize(("endpoint", "role", "status"), _cases(CATALOGUE, READ_CATALOGUE))
def test_retrieve_catalogue(world, api, endpoint, role, status):
    response = api(role).get(f"/api/v1/{endpoint}/{CATALOGUE[endpoint](world)}/")
    assert response.status_code == status


LIST_STATUS = {"anon": 401, "norole": 403}


@pytest.mark.parametrize("endpoint", [*TEAM_SCOPED, *CATALOGUE])
@pytest.mark.parametrize("role", ROLES)
def test_list(world, api, endpoint, role):
    response = api(role).get(f"/api/v1/{endpoint}/")
    if role in LIST_STATUS:
        assert response.status_code == LIST_STATUS[role]
        return
    assert response.status_code == 200
    body = response.json()
    keys = {
        str(r.get("slug") or r.get("run_id") or r.get("name") or r.get("id"))
        for r in body["results"]
    }
    own_key = str((TEAM_SCOPED | CATALOGUE)[endpoint](world))
    sees_own = own_key in keys
    if endpoint in CATALOGUE or role in ("own", "reviewer", "admin"):
        assert sees_own
    else:
        assert not sees_own
    if endpoint == "agents":
        expected = {"other": {"agent-b"}, "own": {"agent-a"}}.get(role, {"agent-a", "agent-b"})
        assert keys == expected


UPDATES = {
    "teams": ({"name": "Renamed"}, "name"),
    "agents": ({"display_name": "Renamed"}, "display_name"),
    "connections": ({"rate_limit": 7}, "rate_limit"),
    "workflows": ({"name": "Renamed"}, "name"),
}
UPDATE = {"anon": 401, "norole": 403, "other": 404, "own": 200, "reviewer": 403, "admin": 200}


@pytest.mark.parametrize(("endpoint", "role", "status"), _cases(UPDATES, UPDATE))
def test_update_team_scoped(world, api, endpoint, role, status):
    if endpoint == "teams" and role == "own":
        status = 403  # only platform admins change teams
    body, field = UPDATES[endpoint]
    before = AuditEntry.objects.count()
    response = api(role).patch(f"/api/v1/{endpoint}/{TEAM_SCOPED[endpoint](world)}/", body)
    assert response.status_code == status, response.content
    if status == 200:
        assert response.json()[field] == body[field]
        entry = AuditEntry.objects.order_by("-id").first()
        assert entry.action.endswith(".update")
        assert field in entry.changes
    else:
        assert AuditEntry.objects.count() == before


CATALOGUE_UPDATES = {
    "scopes": {"description": "Reads the ledger."},
    "resources": {"name": "General ledger"},
}
UPDATE_CATALOGUE = {
    "anon": 401,
    "norole": 403,
    "other": 403,
    "own": 403,
    "reviewer": 403,
    "admin": 200,
}


@pytest.mark.parametrize(
    ("endpoint", "role", "status"), _cases(CATALOGUE_UPDATES, UPDATE_CATALOGUE)
)
def test_update_catalogue(world, api, endpoint, role, status):
    if endpoint == "resources" and role == "own":
        status = 200  # the owning team edits its resource
    response = api(role).patch(
        f"/api/v1/{endpoint}/{CATALOGUE[endpoint](world)}/", CATALOGUE_UPDATES[endpoint]
    )
    assert response.status_code == status, response.content


def _create_bodies(w):
    return {
        "teams": {"slug": "team-c", "name": "Team C", "members": ["alice"]},
        "agents": {
            "slug": "new-agent",
            "display_name": "New",
            "purpose": "Tests.",
            "owner_team": "team-a",
        },
        "agent-versions": {
            "agent": "agent-a",
            "label": "2.0.0",
            "config_digest": "sha256:" + "a" * 64,
            "requested_scopes": ["ledger:read"],
        },
        "grants": {"agent": "agent-a", "scope": "other:write", "justification": "Needed."},
        "connections": {"agent": "agent-a", "resource": "crm", "allowed_actions": ["read"]},
        "workflows": {"slug": "new-wf", "name": "New", "owner_team": "team-a"},
        "runs": {"workflow": "close-a", "run_id": "run-new"},
        "scopes": {"resource": "crm", "action": "write", "sensitivity": "high"},
        "resources": {
            "slug": "billing",
            "name": "Billing",
            "audience": "https://billing.example.test",
            "owner_team": "team-a",
        },
    }


# "other" names team A's rows, which do not exist for it: 400 on the field, nothing written.
CREATE = {"anon": 401, "norole": 403, "other": 400, "own": 201, "reviewer": 403, "admin": 201}
ADMIN_ONLY_CREATE = {**CREATE, "other": 403, "own": 403}


@pytest.mark.parametrize("endpoint", list(_create_bodies(None)))
@pytest.mark.parametrize("role", ROLES)
def test_create(world, api, endpoint, role):
    from tests import factories as f

    f.ScopeFactory(name="other:write")
    f.ScopeFactory(name="crm:read")
    table = ADMIN_ONLY_CREATE if endpoint in ("teams", "scopes") else CREATE
    status = table[role]
    before = AuditEntry.objects.count()
    response = api(role).post(f"/api/v1/{endpoint}/", _create_bodies(world)[endpoint])
    assert response.status_code == status, response.content
    if status == 201:
        assert AuditEntry.objects.count() > before
    else:
        assert AuditEntry.objects.count() == before


ACTIONS = {
    # (endpoint, action): (who may, the row's key, how to check it took effect)
    ("agents", "suspend"): (
        {"own", "reviewer", "admin"},
        lambda w: w.agent_a.slug,
        lambda w: Agent.objects.get(pk=w.agent_a.pk).status == "suspended",
    ),
    ("agents", "decommission"): (
        {"own", "admin"},
        lambda w: w.agent_a.slug,
        lambda w: Agent.objects.get(pk=w.agent_a.pk).status == "decommissioned",
    ),
    ("grants", "revoke"): (
        {"own", "reviewer", "admin"},
        lambda w: w.grant_a.pk,
        lambda w: ScopeGrant.objects.get(pk=w.grant_a.pk).status == "revoked",
    ),
    ("agent-versions", "review"): (
        {"reviewer", "admin"},
        lambda w: w.version_a.pk,
        lambda w: w.version_a.__class__.objects.get(pk=w.version_a.pk).reviewed,
    ),
    ("runs", "complete"): (
        {"own", "admin"},
        lambda w: w.run_a.run_id,
        lambda w: WorkflowRun.objects.get(pk=w.run_a.pk).status == "completed",
    ),
    ("runs", "cancel"): (
        {"own", "admin"},
        lambda w: w.run_a.run_id,
        lambda w: WorkflowRun.objects.get(pk=w.run_a.pk).status == "cancelled",
    ),
}


@pytest.mark.parametrize("key", list(ACTIONS), ids=lambda k: f"{k[0]}-{k[1]}")
@pytest.mark.parametrize("role", ROLES)
def test_actions(world, api, key, role):
    endpoint, name = key
    allowed, ident, took_effect = ACTIONS[key]
    expected = {"anon": 401, "norole": 403, "other": 404}.get(role)
    if expected is None:
        expected = 200 if role in allowed else 403
    response = api(role).post(f"/api/v1/{endpoint}/{ident(world)}/{name}/", {"reason": "test"})
    assert response.status_code == expected, response.content
    assert took_effect(world) is (expected == 200)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anon", 401),
        ("norole", 403),
        ("other", 404),
        ("own", 204),
        ("reviewer", 403),
        ("admin", 204),
    ],
)
def test_delete_connection(world, api, role, status):
    response = api(role).delete(f"/api/v1/connections/{world.conn_a.pk}/")
    assert response.status_code == status
    assert Connection.objects.filter(pk=world.conn_a.pk).exists() is (status != 204)
    if status == 204:
        assert AuditEntry.objects.filter(action="connection.delete").count() == 1


@pytest.mark.parametrize("endpoint", ["agents", "grants", "agent-versions", "runs", "scopes"])
def test_no_delete_for_history_rows(world, api, endpoint):
    key = (TEAM_SCOPED | CATALOGUE)[endpoint](world)
    assert api("admin").delete(f"/api/v1/{endpoint}/{key}/").status_code == 405
