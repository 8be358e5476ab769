"""Governed grants (issue 11 item 5): a scope's sensitivity decides who may grant it.

Each path (API, portal form, admin, CLI) is driven from outside; the services are not mocked.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from agents import services
from agents.errors import GrantForbidden
from agents.models import OrganisationPolicy, ScopeGrant
from agents.notices.models import Notice
from audit.models import AuditEntry
from governance.grants.errors import GrantRequestError
from governance.grants.models import GrantRequest
from governance.grants.services import grant_request_decide, grant_request_open

from .conftest import api_for, client_for

pytestmark = pytest.mark.django_db

SOON = dt.timedelta(days=30)


def _open(org, scope="critical", by="alice", **kwargs):
    kwargs.setdefault("expires_at", timezone.now() + SOON)
    return grant_request_open(
        agent=org["ours"],
        scope=org[scope],
        justification="month-end payments",
        by=org[by],
        **kwargs,
    )


def test_a_team_member_grants_a_low_scope_directly_but_not_a_critical_one(org):
    api = api_for(org["alice"])
    body = {"agent": "red-bot", "justification": "reads balances"}
    assert api.post("/api/v1/grants/", {**body, "scope": "payments:read"}).status_code == 201
    for name in ("payments:refund", "payments:initiate"):
        response = api.post("/api/v1/grants/", {**body, "scope": name})
        assert response.status_code == 403, response.content
        assert "grant request" in response.json()["detail"]
    assert set(ScopeGrant.objects.values_list("scope__name", flat=True)) == {"payments:read"}
    # Admins and reviewers do not skip the request either.
    with pytest.raises(GrantForbidden):
        services.scope_grant(
            agent=org["ours"], scope=org["critical"], justification="x", by=org["root"]
        )


def test_the_admin_and_the_cli_refuse_a_direct_critical_grant(org):
    response = client_for(org["alice"]).post(
        "/admin/agents/scopegrant/add/",
        {"agent": org["ours"].pk, "scope": org["critical"].pk, "justification": "pay"},
    )
    assert response.status_code == 200  # the form again, with the service's refusal
    assert "grant request" in response.content.decode()
    with pytest.raises(CommandError, match="grant request"):
        call_command(
            "agents",
            "create",
            "--team=red",
            "--slug=red-two",
            "--purpose=pay",
            "--scope=payments:initiate",
            "--by=alice",
            stdout=io.StringIO(),
        )
    assert not ScopeGrant.objects.exists()


def test_the_owners_form_turns_a_critical_scope_into_a_request(org):
    client = client_for(org["alice"])
    until = (timezone.now() + SOON).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/portal/agents/red-bot/grants/new/",
        {"scope": org["critical"].pk, "justification": "month-end payments", "expires_at": until},
    )
    assert response.status_code == 302, response.content
    request = GrantRequest.objects.get()
    assert (request.status, request.requested_by, request.team) == (
        "pending",
        org["alice"],
        org["red"],
    )
    assert not ScopeGrant.objects.exists()
    assert Notice.objects.filter(kind="grant_request.open", user=org["rita"]).exists()
    # A low scope through the same form is granted at once.
    client.post(
        "/portal/agents/red-bot/grants/new/",
        {"scope": org["low"].pk, "justification": "reads", "expires_at": ""},
    )
    assert ScopeGrant.objects.filter(scope=org["low"], status="active").exists()


def test_a_critical_request_needs_an_end_date_within_policy(org):
    with pytest.raises(GrantRequestError, match="end date at most 90 days"):
        _open(org, expires_at=None)
    with pytest.raises(GrantRequestError, match="at most 90 days"):
        _open(org, expires_at=timezone.now() + dt.timedelta(days=91))
    services.policy_update(data={"critical_grant_max_days": 120})
    assert _open(org, expires_at=timezone.now() + dt.timedelta(days=91)).status == "pending"
    response = api_for(org["alice"]).post(
        "/api/v1/grant-requests/",
        {"agent": "red-bot", "scope": "payments:refund", "justification": ""},
    )
    assert response.status_code == 400


def test_only_a_reviewer_outside_the_team_decides(org):
    request = _open(org)
    approve = f"/api/v1/grant-requests/{request.pk}/approve/"
    for who, status in (("alice", 403), ("insider", 403), ("bob", 404)):
        response = api_for(org[who]).post(approve, {"comment": "fine"})
        assert response.status_code == status, (who, response.content)
    assert GrantRequest.objects.get().status == "pending"
    assert api_for(org["rita"]).post(approve, {}).status_code == 400  # a comment is required
    response = api_for(org["rita"]).post(approve, {"comment": "capped daily, fine"})
    assert response.status_code == 200, response.content
    request.refresh_from_db()
    grant = ScopeGrant.objects.get(agent=org["ours"], scope=org["critical"], status="active")
    assert request.grant == grant and grant.expires_at == request.expires_at
    assert grant.granted_by == org["rita"]
    created = AuditEntry.objects.get(action="grant.create")
    assert created.changes["grant_request"] == request.pk
    assert AuditEntry.objects.filter(action="grant_request.approve", actor="user:rita").exists()
    assert Notice.objects.filter(kind="grant_request.approved", team=org["red"]).exists()
    again = api_for(org["root"]).post(approve, {"comment": "twice"})
    assert again.status_code == 400 and "already approved" in again.json()["detail"]


def test_an_admin_does_not_decide_their_own_request(org):
    request = _open(org, scope="high", by="root", expires_at=None)
    approve = f"/api/v1/grant-requests/{request.pk}/approve/"
    response = api_for(org["root"]).post(approve, {"comment": "mine"})
    assert response.status_code == 403 and "own request" in response.json()["detail"]
    assert api_for(org["rita"]).post(approve, {"comment": "ok"}).status_code == 200


def test_a_denied_or_used_request_grants_nothing(org):
    request = _open(org, scope="high", expires_at=None)
    grant_request_decide(request=request, approve=False, by=org["rita"], comment="too broad")
    with pytest.raises(GrantForbidden, match="does not approve"):
        services.scope_grant(
            agent=org["ours"],
            scope=org["high"],
            justification="sneak",
            by=org["alice"],
            request_id=request.pk,
        )
    approved = _open(org, scope="high", expires_at=None)
    grant_request_decide(request=approved, approve=True, by=org["root"], comment="ok")
    services.scope_revoke(grant=approved.grant, by=org["alice"], reason="done")
    with pytest.raises(GrantForbidden, match="does not approve"):  # a request grants once
        services.scope_grant(
            agent=org["ours"],
            scope=org["high"],
            justification="again",
            by=org["alice"],
            request_id=approved.pk,
        )


def test_another_team_gets_404_by_url_form_post_and_api(org):
    request = _open(org)
    bob = client_for(org["bob"])
    url = f"/portal/grant-requests/{request.pk}/"
    assert bob.get(url).status_code == 404
    assert bob.post(url, {"decision": "approve", "comment": "x"}).status_code == 404
    assert b"payments:initiate" not in bob.get("/portal/grant-requests/").content
    api = api_for(org["bob"])
    assert api.get(f"/api/v1/grant-requests/{request.pk}/").status_code == 404
    assert api.get("/api/v1/grant-requests/").json()["count"] == 0
    assert (
        api.post(f"/api/v1/grant-requests/{request.pk}/deny/", {"comment": "x"}).status_code == 404
    )
    response = api.post(
        "/api/v1/grant-requests/",
        {"agent": "red-bot", "scope": "payments:refund", "justification": "mine now"},
    )
    assert response.status_code == 400 and "agent" in response.json()
    assert GrantRequest.objects.get().status == "pending"


def test_the_reviewers_queue_decides_by_form_post(org):
    request = _open(org)
    owner_page = client_for(org["alice"]).get(f"/portal/grant-requests/{request.pk}/")
    assert "only security reviewers and platform admins" in owner_page.content.decode()
    refused = client_for(org["alice"]).post(
        f"/portal/grant-requests/{request.pk}/", {"decision": "approve", "comment": "mine"}
    )
    assert refused.status_code == 302
    assert GrantRequest.objects.get().status == "pending"
    rita = client_for(org["rita"])
    queue = rita.get("/portal/grant-requests/").content.decode()
    assert "payments:initiate" in queue and "Red team" in queue
    rita.post(f"/portal/grant-requests/{request.pk}/", {"decision": "deny", "comment": "no cap"})
    request.refresh_from_db()
    assert (request.status, request.decision_comment, request.grant) == ("denied", "no cap", None)


def test_admin_action_and_cli(org):
    request = _open(org)
    client = client_for(org["rita"])
    response = client.post(
        "/admin/grants/grantrequest/",
        {"action": "approve", "_selected_action": [request.pk], "reason": "capped"},
    )
    assert response.status_code == 302
    assert GrantRequest.objects.get(pk=request.pk).status == "approved"
    out = io.StringIO()
    call_command(
        "grants",
        "request",
        "red-bot",
        "payments:refund",
        "--justification=refunds",
        "--by=alice",
        "--json",
        stdout=out,
    )
    made = json.loads(out.getvalue())
    assert made["status"] == "pending"
    with pytest.raises(CommandError, match="member of the requesting team"):
        call_command("grants", "approve", str(made["id"]), "--comment=ok", "--by=insider")
    out = io.StringIO()
    call_command("grants", "deny", str(made["id"]), "--comment=no", "--by=rita", stdout=out)
    assert "denied" in out.getvalue()
    out = io.StringIO()
    call_command("grants", "list", "--by=alice", "--json", stdout=out)
    assert {r["status"] for r in json.loads(out.getvalue())} == {"approved", "denied"}


def test_critical_approval_requests_are_decided_outside_the_team(org):
    from governance.approvals.models import ApprovalRequest
    from governance.approvals.permissions import can_decide_approval

    def approval(action):
        return ApprovalRequest.objects.create(
            fingerprint=action,
            agent=org["ours"],
            resource=org["payments"],
            action=action,
            trust_level="pending",
            expires_at=timezone.now() + dt.timedelta(hours=1),
        )

    critical, low = approval("initiate"), approval("read")
    manager = org["alice"]
    assert not can_decide_approval(manager, critical)
    assert not can_decide_approval(org["insider"], critical)
    assert can_decide_approval(org["rita"], critical)
    assert can_decide_approval(manager, low)
    response = client_for(manager).post(
        f"/portal/approvals/{critical.pk}/", {"decision": "approve", "reason": "mine"}
    )
    assert response.status_code == 403
    OrganisationPolicy.objects.filter(pk=1).update(approval_separation_of_duties=False)
    OrganisationPolicy.current()
    assert can_decide_approval(manager, critical)
