"""Human approval end to end over HTTP: decision → request → poll → decide → decision again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from governance.approvals.models import ApprovalRequest
from governance.approvals.services import approvals_expire_due
from tests import factories as f
from tests.decisions.conftest import make_world


@pytest.fixture
def pending(db, backend):
    """A PENDING agent on a connection whose floor is TRUSTED: its actions need approval."""
    return make_world(level="pending", trust_floor="trusted")


def _poll(client, approval_id, token):
    return client.get(f"/api/v1/approvals/{approval_id}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_approval_flow_end_to_end(client, pending):
    token = pending.token()
    first = pending.decide(client, token=token, cost=3).json()
    assert first["decision"] == "approval_required", first
    assert first["reasons"] == ["trust_below_floor", "approval_pending"]
    assert first["trust"] == {"score": 50, "level": "pending"}
    approval_id = first["approval"]["id"]
    assert first["approval"]["url"] == f"/api/v1/approvals/{approval_id}"
    assert AuditEntry.objects.get(pk=first["audit_id"]).outcome == "pending"
    assert AuditEntry.objects.filter(action="approval.request", target_id=approval_id).count() == 1

    # the identical request shares the pending approval
    again = pending.decide(client, token=token, cost=3).json()
    assert again["approval"]["id"] == approval_id
    assert ApprovalRequest.objects.count() == 1

    # the agent polls with its own access token
    polled = _poll(client, approval_id, token)
    assert polled.status_code == 200
    assert polled.json()["status"] == "pending"
    assert polled.json()["agent"] == pending.agent.slug

    # a reviewer approves through the API
    reviewer = f.security_reviewer(username="rita")
    client.force_login(reviewer)
    resp = client.post(
        f"/api/v1/approvals/{approval_id}/approve",
        {"reason": "month-end run"},
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "approved"
    assert resp.json()["decided_by"] == "rita"
    entry = AuditEntry.objects.get(action="approval.approve")
    assert entry.actor == "user:rita" and entry.reason == "month-end run"
    again = client.post(f"/api/v1/approvals/{approval_id}/approve", content_type="application/json")
    assert again.status_code == 409
    client.logout()

    assert _poll(client, approval_id, token).json()["status"] == "approved"
    allowed = pending.decide(client, token=token, cost=3).json()
    assert allowed["decision"] == "allow", allowed
    assert allowed["reasons"] == ["approval_granted"]
    assert allowed["approval"]["id"] == approval_id
    # the approval covers the identical request only: another cost asks again
    other = pending.decide(client, token=token, cost=4).json()
    assert other["decision"] == "approval_required"
    assert other["approval"]["id"] != approval_id

    # once the window has passed, the same request needs a new approval
    ApprovalRequest.objects.filter(pk=approval_id).update(
        valid_until=timezone.now() - dt.timedelta(seconds=1)
    )
    later = pending.decide(client, token=token, cost=3).json()
    assert later["decision"] == "approval_required"
    assert later["approval"]["id"] not in (approval_id, other["approval"]["id"])


def test_a_denied_request_denies_the_identical_request_for_the_window(client, pending):
    token = pending.token()
    approval_id = pending.decide(client, token=token).json()["approval"]["id"]
    client.force_login(f.team_member(pending.agent.owner_team, username="owner"))
    resp = client.post(
        f"/api/v1/approvals/{approval_id}/deny",
        {"reason": "not today"},
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    client.logout()
    data = pending.decide(client, token=token).json()
    assert data["decision"] == "deny"
    assert data["reasons"] == ["approval_denied"]
    assert _poll(client, approval_id, token).json()["decision_reason"] == "not today"


def test_who_may_see_and_decide(client, pending):
    token = pending.token()
    approval_id = pending.decide(client, token=token).json()["approval"]["id"]
    url = f"/api/v1/approvals/{approval_id}"
    # anonymous
    assert client.get(url).status_code in (401, 403)
    assert client.post(f"{url}/approve").status_code in (401, 403)
    # another agent's valid token sees nothing
    other = make_world(level="pending", trust_floor="trusted")
    assert _poll(client, approval_id, other.token()).status_code == 404
    # a garbage JWT is refused
    assert _poll(client, approval_id, "a.b.c").status_code == 401
    # another team's member: 404, cannot decide
    client.force_login(f.team_member(f.TeamFactory(), username="stranger"))
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/approve", content_type="application/json").status_code == 404
    assert client.get("/api/v1/approvals").json()["count"] == 0
    # a platform admin sees it in the list and may decide
    client.force_login(f.platform_admin(username="root"))
    listing = client.get("/api/v1/approvals?status=pending").json()
    assert [a["id"] for a in listing["results"]] == [approval_id]
    assert client.get("/api/v1/approvals?status=bogus").status_code == 400
    assert client.post(f"{url}/approve", content_type="application/json").status_code == 200


def test_a_pending_request_expires(client, pending):
    token = pending.token()
    approval_id = pending.decide(client, token=token).json()["approval"]["id"]
    ApprovalRequest.objects.filter(pk=approval_id).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    client.force_login(f.security_reviewer())
    resp = client.post(f"/api/v1/approvals/{approval_id}/approve", content_type="application/json")
    assert resp.status_code == 409
    assert ApprovalRequest.objects.get(pk=approval_id).status == "expired"
    client.logout()
    fresh = pending.decide(client, token=token).json()
    assert fresh["decision"] == "approval_required"
    assert fresh["approval"]["id"] != approval_id


def test_expire_sweep(pending, client):
    pending.decide(client)
    assert approvals_expire_due() == 0
    assert approvals_expire_due(now=timezone.now() + dt.timedelta(days=2)) == 1
    assert ApprovalRequest.objects.get().status == "expired"
    assert AuditEntry.objects.filter(action="approval.expire").count() == 1


def test_no_approval_is_opened_for_a_request_the_rate_limit_would_deny(client, db, backend):
    world = make_world(level="pending", trust_floor="trusted", rate_limit=0)
    data = world.decide(client).json()
    assert data["decision"] == "deny"
    assert data["reasons"] == ["rate_limited"]
    assert not ApprovalRequest.objects.exists()


def test_portal_pages(client, pending):
    approval_id = pending.decide(client).json()["approval"]["id"]
    assert client.get("/portal/approvals/").status_code == 302  # to the login page
    client.force_login(f.team_member(f.TeamFactory(), username="stranger"))
    assert client.get(f"/portal/approvals/{approval_id}/").status_code == 404
    posted = client.post(
        f"/portal/approvals/{approval_id}/", {"decision": "approve", "reason": "x"}
    )
    assert posted.status_code == 404
    assert ApprovalRequest.objects.get(pk=approval_id).status == "pending"
    assert approval_id not in client.get("/portal/approvals/").content.decode()
    client.force_login(f.security_reviewer(username="rev"))
    page = client.get("/portal/approvals/").content.decode()
    assert approval_id in page and pending.agent.slug in page
    detail = client.get(f"/portal/approvals/{approval_id}/")
    assert b"Approve" in detail.content
    resp = client.post(f"/portal/approvals/{approval_id}/", {"decision": "approve", "reason": "ok"})
    assert resp.status_code == 302
    assert ApprovalRequest.objects.get(pk=approval_id).status == "approved"
    assert pending.decide(client).json()["decision"] == "allow"


def test_periodic_tasks_are_registered_and_run(pending, client):
    from governance.approvals.tasks import expire_approvals
    from governance.decisions.tasks import sweep_counters

    pending.decide(client)
    ApprovalRequest.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert expire_approvals.apply().get() == 1
    assert expire_approvals.apply().get() == 0  # safe to re-run
    assert sweep_counters.apply().get() == 0


def test_admin_is_read_only_and_team_scoped(client, pending):
    approval_id = pending.decide(client).json()["approval"]["id"]
    url = f"/admin/approvals/approvalrequest/{approval_id}/change/"
    client.force_login(f.security_reviewer(username="rev2"))
    page = client.get(url)
    assert page.status_code == 200 and b"Save" not in page.content
    assert client.post(url, {"status": "approved"}).status_code == 403
    client.force_login(f.team_member(f.TeamFactory(), username="stranger2"))
    assert client.get(url).status_code == 404


def test_cli_lists_and_decides(client, pending):
    import io
    import json

    from django.core.management import CommandError, call_command

    def cli(*args):
        out = io.StringIO()
        call_command("approvals", *args, "--json", stdout=out)
        return json.loads(out.getvalue())

    approval_id = pending.decide(client).json()["approval"]["id"]
    assert [a["id"] for a in cli("list", "--status=pending")] == [approval_id]
    f.team_member(f.TeamFactory(), username="outsider")
    with pytest.raises(CommandError, match="may not"):
        cli("approve", approval_id, "--by=outsider")
    f.security_reviewer(username="rev3")
    assert cli("deny", approval_id, "--by=rev3", "--reason=no")["status"] == "denied"
    with pytest.raises(CommandError, match="already denied"):
        cli("approve", approval_id, "--by=rev3")
    with pytest.raises(CommandError, match="not an approval request id"):
        cli("show", "nope")
    assert pending.decide(client).json()["reasons"] == ["approval_denied"]
