"""Version transitions (issue 11 item 4): a version asking for different access waits for a
reviewer outside the team; approved, its added scopes are granted and the dropped ones revoked.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from agents import services
from agents.errors import InvalidTransition
from agents.models import Agent, AgentVersion, ScopeGrant
from agents.notices.models import Notice
from audit.models import AuditEntry
from governance.grants.models import GrantRequest
from tests import factories as f

from .conftest import api_for, client_for

pytestmark = pytest.mark.django_db


def test_a_version_asking_for_more_gets_nothing_until_approved(org, moved):
    agent = Agent.objects.get(pk=org["ours"].pk)
    assert moved.scope_review == "pending" and not moved.reviewed
    assert (moved.scopes_added, moved.scopes_removed) == (["payments:refund"], ["payments:read"])
    assert agent.current_version.label == "1.0"  # the running version stays current
    held = set(ScopeGrant.objects.active().filter(agent=agent).values_list("scope__name", flat=1))
    assert held == {"payments:read"}
    assert Notice.objects.filter(kind="version.scope_review", team=org["red"]).exists()
    assert Notice.objects.filter(kind="version.scope_review", user=org["rita"]).exists()
    # The configuration cannot be waved through by "mark reviewed" either.
    with pytest.raises(InvalidTransition, match="decide its review"):
        services.agent_version_review(version=moved, by=org["rita"])


def test_only_a_reviewer_outside_the_team_approves_and_it_applies(org, moved):
    url = f"/api/v1/scope-reviews/{moved.pk}/approve/"
    for who, status in (("alice", 403), ("insider", 403), ("bob", 404)):
        response = api_for(org[who]).post(url, {"comment": "fine"})
        assert response.status_code == status, (who, response.content)
    response = api_for(org["rita"]).post(url, {"comment": "refunds replace reads"})
    assert response.status_code == 200, response.content
    assert response.json()["scope_review"] == "approved"
    agent = Agent.objects.get(pk=org["ours"].pk)
    assert agent.current_version_id == moved.pk
    held = set(ScopeGrant.objects.active().filter(agent=agent).values_list("scope__name", flat=1))
    assert held == {"payments:refund"}
    request = GrantRequest.objects.get(scope=org["high"])
    assert (request.status, request.decided_by, request.grant.status) == (
        "approved",
        org["rita"],
        "active",
    )
    revoked = AuditEntry.objects.get(action="grant.revoke")
    assert "no longer asks" in revoked.reason
    assert AuditEntry.objects.filter(action="agent.version.approve", actor="user:rita").exists()
    again = api_for(org["root"]).post(url, {"comment": "twice"})
    assert again.status_code == 400


def test_denied_by_form_post_and_another_team_sees_nothing(org, moved):
    bob = client_for(org["bob"])
    page = f"/portal/scope-reviews/{moved.pk}/"
    assert bob.get(page).status_code == 404
    assert bob.post(page, {"decision": "approve", "comment": "x"}).status_code == 404
    assert b"1.1" not in bob.get("/portal/scope-reviews/").content
    assert api_for(org["bob"]).get(f"/api/v1/scope-reviews/{moved.pk}/").status_code == 404
    owner = client_for(org["alice"]).get("/portal/agents/red-bot/").content.decode()
    assert "scope review pending" in owner and "+ payments:refund" in owner
    queue = client_for(org["rita"]).get("/portal/scope-reviews/").content.decode()
    assert "+ payments:refund" in queue and "− payments:read" in queue
    client_for(org["rita"]).post(page, {"decision": "deny", "comment": "not justified"})
    moved.refresh_from_db()
    assert moved.scope_review == "denied"
    assert Agent.objects.get(pk=org["ours"].pk).current_version.label == "1.0"
    assert ScopeGrant.objects.active().filter(scope=org["low"]).exists()
    assert not ScopeGrant.objects.filter(scope=org["high"]).exists()


def test_a_version_asking_for_what_it_holds_is_current_at_once(org, moved):
    same = services.agent_version_add(
        agent=org["ours"],
        label="1.0.1",
        config_digest=f.digest("1.0.1"),
        requested_scopes=[org["low"]],
        by=org["alice"],
    )
    assert same.scope_review == AgentVersion.ScopeReview.NONE
    assert Agent.objects.get(pk=org["ours"].pk).current_version == same


def test_the_cli_lists_and_decides(org, moved):
    out = io.StringIO()
    call_command("grants", "reviews", "--by=rita", "--json", stdout=out)
    assert [r["label"] for r in json.loads(out.getvalue())] == ["1.1"]
    with pytest.raises(CommandError, match="member of the requesting team"):
        call_command("grants", "review-approve", str(moved.pk), "--comment=x", "--by=insider")
    call_command(
        "grants", "review-approve", str(moved.pk), "--comment=ok", "--by=root", stdout=io.StringIO()
    )
    assert AgentVersion.objects.get(pk=moved.pk).scope_review == "approved"
