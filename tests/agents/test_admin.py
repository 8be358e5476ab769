"""The registry admin: rows limited by permission, 404 for other teams, writes via services."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client

from agents.models import (
    Agent,
    ApiToken,
    Connection,
    OrganisationPolicy,
    ScopeGrant,
    Team,
    WorkflowRun,
)
from audit.models import AuditEntry
from tests import factories as f


@pytest.fixture
def admin_client_for(world):
    def make(role: str) -> Client:
        client = Client()
        client.force_login(world.users[role])
        return client

    return make


CHANGE_PAGES = {
    "agent": lambda w: w.agent_a.pk,
    "agentversion": lambda w: w.version_a.pk,
    "scopegrant": lambda w: w.grant_a.pk,
    "connection": lambda w: w.conn_a.pk,
    "workflow": lambda w: w.wf_a.pk,
    "workflowrun": lambda w: w.run_a.pk,
    "team": lambda w: w.team_a.pk,
}


@pytest.mark.parametrize("model", list(CHANGE_PAGES))
@pytest.mark.parametrize("page", ["change", "history", "delete"])
def test_other_team_gets_404_on_object_pages(world, admin_client_for, model, page):
    url = f"/admin/agents/{model}/{CHANGE_PAGES[model](world)}/{page}/"
    response = admin_client_for("other").get(url)
    assert response.status_code == 404
    assert world.agent_a.slug.encode() not in response.content
    # and the same page is there for the owning team and for a reviewer
    assert admin_client_for("own").get(url).status_code in (200, 403)
    assert admin_client_for("reviewer").get(url).status_code in (200, 403)


@pytest.mark.parametrize("model", list(CHANGE_PAGES))
def test_own_team_and_reviewer_see_the_change_page(world, admin_client_for, model):
    url = f"/admin/agents/{model}/{CHANGE_PAGES[model](world)}/change/"
    assert admin_client_for("own").get(url).status_code == 200
    assert admin_client_for("reviewer").get(url).status_code == 200
    assert admin_client_for("admin").get(url).status_code == 200


def test_action_on_another_teams_agent_is_404_and_changes_nothing(world, admin_client_for):
    response = admin_client_for("other").post(
        "/admin/agents/agent/",
        {
            "action": "suspend",
            ACTION_CHECKBOX_NAME: [world.agent_a.pk],
            "reason": "x",
            "select_across": "0",  # as the changelist form sends it
            "index": "0",
        },
    )
    assert response.status_code == 404
    assert Agent.objects.get(pk=world.agent_a.pk).status == "active"
    assert not AuditEntry.objects.filter(action="agent.suspend").exists()


def test_changelist_shows_only_own_agents(world, admin_client_for):
    body = admin_client_for("own").get("/admin/agents/agent/").content.decode()
    assert "agent-a" in body and "agent-b" not in body
    body = admin_client_for("reviewer").get("/admin/agents/agent/").content.decode()
    assert "agent-a" in body and "agent-b" in body
    # the team filter lists only teams one can see
    body = admin_client_for("own").get("/admin/agents/agent/").content.decode()
    assert "Team B" not in body


def test_no_role_sees_no_registry(world, admin_client_for):
    client = admin_client_for("norole")
    assert client.get("/admin/agents/agent/").status_code == 403
    assert b"agent-a" not in client.get("/admin/").content


def test_lifecycle_actions_call_services_and_audit(world, admin_client_for):
    client = admin_client_for("own")
    url = "/admin/agents/agent/"
    post = {"action": "suspend", ACTION_CHECKBOX_NAME: [world.agent_a.pk], "reason": "leak"}
    assert client.post(url, post).status_code == 302
    agent = Agent.objects.get(pk=world.agent_a.pk)
    assert agent.status == "suspended" and agent.status_reason == "leak"
    entry = AuditEntry.objects.get(action="agent.suspend")
    assert entry.actor == "user:alice" and entry.changes == {"status": ["active", "suspended"]}
    # suspending again is refused with a message, not a 500
    response = client.post(url, post, follow=True)
    assert b"annot suspend agent agent-a: it is suspended" in response.content
    client.post(url, {**post, "action": "reactivate"})
    client.post(url, {**post, "action": "decommission"})
    assert Agent.objects.get(pk=world.agent_a.pk).status == "decommissioned"
    assert ScopeGrant.objects.get(pk=world.grant_a.pk).status == "revoked"


def test_reviewer_may_suspend_but_not_decommission(world, admin_client_for):
    client = admin_client_for("reviewer")
    ids = {ACTION_CHECKBOX_NAME: [world.agent_a.pk], "reason": "containment"}
    client.post("/admin/agents/agent/", {"action": "suspend", **ids})
    assert Agent.objects.get(pk=world.agent_a.pk).status == "suspended"
    client.post("/admin/agents/agent/", {"action": "decommission", **ids})
    assert Agent.objects.get(pk=world.agent_a.pk).status == "suspended"


def _hidden_inputs(html: str) -> dict[str, str]:
    """The hidden inputs of a rendered admin form (inline management forms), as a browser sends."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def test_status_is_never_a_form_field(world, admin_client_for):
    client = admin_client_for("own")
    page = client.get(f"/admin/agents/agent/{world.agent_a.pk}/change/").content.decode()
    assert 'name="status"' not in page
    assert "1.0.0" in page and "ledger:read" in page  # the version and grant inlines
    response = client.post(
        f"/admin/agents/agent/{world.agent_a.pk}/change/",
        {
            **_hidden_inputs(page),
            "display_name": "Renamed",
            "purpose": world.agent_a.purpose,
            "owner_team": world.team_a.pk,
            "status": "decommissioned",
        },
    )
    assert response.status_code == 302, response.content
    agent = Agent.objects.get(pk=world.agent_a.pk)
    assert agent.display_name == "Renamed" and agent.status == "active"
    entry = AuditEntry.objects.get(action="agent.update")
    assert entry.changes == {"display_name": ["Agent A", "Renamed"]}


def test_add_agent_goes_through_register(world, admin_client_for):
    response = admin_client_for("own").post(
        "/admin/agents/agent/add/",
        {"slug": "via-admin", "display_name": "Via", "purpose": "p", "owner_team": world.team_a.pk},
    )
    assert response.status_code == 302
    agent = Agent.objects.get(slug="via-admin")
    assert agent.created_by == world.users["own"]
    assert AuditEntry.objects.filter(action="agent.register", target_id=str(agent.pk)).exists()


def test_cannot_add_agent_to_another_team(world, admin_client_for):
    before = AuditEntry.objects.count()
    response = admin_client_for("own").post(
        "/admin/agents/agent/add/",
        {"slug": "sneaky", "display_name": "S", "purpose": "p", "owner_team": world.team_b.pk},
    )
    assert response.status_code == 200  # the form again, with an error on owner_team
    assert b"owner_team" in response.content
    assert not Agent.objects.filter(slug="sneaky").exists()
    assert AuditEntry.objects.count() == before


def test_service_refusal_comes_back_as_a_form_error(world, admin_client_for):
    """A grant on a suspended agent: the service refuses, nothing is written."""
    from agents import services

    services.agent_suspend(agent=world.agent_a, reason="t")
    before = (ScopeGrant.objects.count(), AuditEntry.objects.count())
    scope = f.ScopeFactory(name="ledger:write")
    response = admin_client_for("own").post(
        "/admin/agents/scopegrant/add/",
        {"agent": world.agent_a.pk, "scope": scope.pk, "justification": "why not"},
    )
    assert response.status_code == 200
    assert b"grants need an active agent" in response.content
    assert (ScopeGrant.objects.count(), AuditEntry.objects.count()) == before


def test_connection_edit_audits_before_and_after(world, admin_client_for):
    from tests import factories as f

    f.ScopeFactory(name="ledger:write")
    response = admin_client_for("own").post(
        f"/admin/agents/connection/{world.conn_a.pk}/change/",
        {
            "allowed_actions": "read, write",
            "rate_limit": "10",
            "rate_window_seconds": "60",
            "budget_cap": "",
            "budget_period": "day",
            "trust_floor": "trusted",
            "log_only_rules": "[]",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert response.status_code == 302, response.content
    connection = Connection.objects.get(pk=world.conn_a.pk)
    assert connection.allowed_actions == ["read", "write"]
    entry = AuditEntry.objects.get(action="connection.update")
    assert entry.changes["trust_floor"] == ["pending", "trusted"]
    assert entry.changes["rate_limit"] == [None, 10]


def test_run_actions(world, admin_client_for):
    client = admin_client_for("own")
    client.post(
        "/admin/agents/workflowrun/",
        {"action": "complete", ACTION_CHECKBOX_NAME: [world.run_a.pk], "reason": "done"},
    )
    assert WorkflowRun.objects.get(pk=world.run_a.pk).status == "completed"


def test_team_admin_is_for_platform_admins(world, admin_client_for):
    assert admin_client_for("own").get("/admin/agents/team/add/").status_code == 403
    alice = world.users["own"]
    response = admin_client_for("admin").post(
        "/admin/agents/team/add/",
        {"slug": "team-c", "name": "Team C", "is_active": "on", "members": [alice.pk]},
    )
    assert response.status_code == 302
    team = Team.objects.get(slug="team-c")
    assert list(team.members.all()) == [alice]
    assert alice.has_perm("agents.manage_team", team)  # guardian, through the team's group
    assert AuditEntry.objects.filter(action="team.create").exists()


def test_policy_is_a_platform_admin_singleton(world, admin_client_for):
    assert admin_client_for("reviewer").get("/admin/agents/organisationpolicy/").status_code == 403
    client = admin_client_for("admin")
    response = client.get("/admin/agents/organisationpolicy/")
    assert response.status_code == 302
    policy = OrganisationPolicy.objects.get()
    assert client.get("/admin/agents/organisationpolicy/add/").status_code == 403
    assert client.get(f"/admin/agents/organisationpolicy/{policy.pk}/delete/").status_code == 403
    data = {
        "access_token_lifetime_seconds": 600,
        "max_delegation_depth": 2,
        "credential_max_age_days": 90,
        "rotation_overlap_hours": 24,
        "org_trust_floor": "pending",
        "approval_window_minutes": 15,
        "approval_expiry_hours": 24,
        "critical_grant_max_days": 90,
        "approval_separation_of_duties": "on",
        "log_only_rules": "[]",
        "quarantine_blocks_tokens": "on",
        "config_review_requires_reviewer": "on",
    }
    client.post(f"/admin/agents/organisationpolicy/{policy.pk}/change/", data)
    assert OrganisationPolicy.objects.get().access_token_lifetime_seconds == 600
    entry = AuditEntry.objects.get(action="policy.update")
    assert entry.changes == {"access_token_lifetime_seconds": [300, 600]}
    data["max_delegation_depth"] = 3
    client.post(f"/admin/agents/organisationpolicy/{policy.pk}/change/", data)
    entry = AuditEntry.objects.filter(action="policy.update").order_by("-id").first()
    assert entry.changes == {"max_delegation_depth": [2, 3]}


def test_api_token_admin_shows_the_secret_once(world, admin_client_for):
    client = admin_client_for("own")
    response = client.post("/admin/agents/apitoken/add/", {"name": "ci"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(name="ci")
    body = response.content.decode()
    assert f"gvp_{token.key}_" in body
    raw = re.search(r'value="(gvp_[^"]+)"', body).group(1)
    assert token.digest not in body
    # never again: the change page and the list show the key id only
    page = client.get(f"/admin/agents/apitoken/{token.pk}/change/").content.decode()
    assert raw not in page and token.key in page
    assert raw not in client.get("/admin/agents/apitoken/").content.decode()
    # and it works, until revoked through the admin action
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/agents/").status_code == 200
    client.post("/admin/agents/apitoken/", {"action": "revoke", ACTION_CHECKBOX_NAME: [token.pk]})
    assert api.get("/api/v1/agents/").status_code == 401


def test_others_tokens_are_404_in_admin(world, admin_client_for):
    from agents.services import api_token_create

    token, _ = api_token_create(user=world.users["other"], name="bob's")
    assert (
        admin_client_for("own").get(f"/admin/agents/apitoken/{token.pk}/change/").status_code == 404
    )
    assert (
        admin_client_for("admin").get(f"/admin/agents/apitoken/{token.pk}/change/").status_code
        == 200
    )


def _bulk_agents(team_a, team_b, n):
    Agent.objects.bulk_create(
        Agent(
            slug=f"bulk-{i}",
            display_name=f"Bulk {i}",
            purpose="Load.",
            owner_team=team_a if i % 2 else team_b,
        )
        for i in range(n)
    )


@pytest.mark.parametrize("role", ["own", "reviewer"])
def test_changelist_of_10000_agents_runs_a_flat_number_of_queries(
    world, admin_client_for, django_assert_max_num_queries, role
):
    client = admin_client_for(role)
    client.get("/admin/agents/agent/")  # warm caches (content types, session)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get("/admin/agents/agent/").status_code == 200
    _bulk_agents(world.team_a, world.team_b, 10_000)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/admin/agents/agent/")
    assert response.status_code == 200
    assert b"bulk-1" in response.content or b"bulk-10" in response.content


def test_agent_autocomplete_offers_only_visible_agents(world, admin_client_for):
    response = admin_client_for("own").get(
        "/admin/autocomplete/",
        {"app_label": "agents", "model_name": "scopegrant", "field_name": "agent", "term": "agent"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["agent-a"]


def test_connection_delete_goes_through_the_service(world, admin_client_for):
    url = f"/admin/agents/connection/{world.conn_a.pk}/delete/"
    assert admin_client_for("reviewer").post(url, {"post": "yes"}).status_code == 403
    assert admin_client_for("own").post(url, {"post": "yes"}).status_code == 302
    assert not Connection.objects.filter(pk=world.conn_a.pk).exists()
    entry = AuditEntry.objects.get(action="connection.delete")
    assert entry.actor == "user:alice" and entry.changes["resource"] == "ledger"


ALL_MODELS = [
    "team",
    "agent",
    "agentversion",
    "scope",
    "scopegrant",
    "resource",
    "connection",
    "workflow",
    "workflowrun",
    "apitoken",
    "organisationpolicy",
    "teamgroupobjectpermission",
    "teamuserobjectpermission",
]


@pytest.mark.parametrize("role", ["norole", "own", "reviewer", "admin"])
def test_every_admin_page_renders_or_refuses_never_500(world, admin_client_for, role):
    client = admin_client_for(role)
    for model in ALL_MODELS:
        for page in ["", "add/", "?q=a", "?o=1"]:
            response = client.get(f"/admin/agents/{model}/{page}")
            assert response.status_code in (200, 302, 403), (model, page, response.status_code)
    assert client.get("/admin/").status_code == 200
