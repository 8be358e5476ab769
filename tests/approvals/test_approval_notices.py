"""Approval requests reach people: whoever may decide one is told when the decision point opens
it, the agent's team when it is decided. Notices are rows written with the change (the outbox)
and emails sent on commit, through the locmem backend.
"""

from __future__ import annotations

import pytest
from django.core import mail

from agents.models import Scope
from agents.notices.models import Notice, OutboxMessage
from governance.approvals.models import ApprovalRequest
from tests import factories as f
from tests.decisions.conftest import make_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def world(settings):
    """A PENDING agent under a TRUSTED floor (its reads need approval), its team's owner, a
    reviewer outside the team, a reviewer inside it, and another team's member."""
    settings.RATE_LIMIT_BACKEND = "database"
    w = make_world(level="pending", trust_floor="trusted")
    team = w.agent.owner_team
    insider = f.security_reviewer(username="ivan")
    team.members.add(insider)
    return {
        "w": w,
        "team": team,
        "owner": f.team_member(team, username="olive"),
        "rita": f.security_reviewer(username="rita"),
        "insider": insider,
        "bob": f.team_member(f.TeamFactory(slug="other"), username="bob"),
    }


def _ask(client, world, capture) -> str:
    with capture(execute=True):
        answer = world["w"].decide(client).json()
    assert answer["decision"] == "approval_required", answer
    return answer["approval"]["id"]


def _sent() -> dict[str, str]:
    """Who got which email: address → subject."""
    return {to: m.subject for m in mail.outbox for to in m.to}


def _to(world, name: str):
    return Notice.objects.addressed_to(world[name])


def test_the_deciders_are_told_when_a_request_opens(
    client, world, django_capture_on_commit_callbacks
):
    approval_id = _ask(client, world, django_capture_on_commit_callbacks)
    agent = world["w"].agent.slug
    team_notice = Notice.objects.get(team=world["team"], kind="approval.waiting")
    assert team_notice.subject == f"{agent} asks to read on {world['w'].resource.slug}"
    assert team_notice.link == f"/portal/approvals/{approval_id}/"
    assert "trust_below_floor" in team_notice.body and "managers" in team_notice.body
    assert Notice.objects.filter(user=world["rita"], kind="approval.waiting").count() == 1
    # The reviewer in the team hears through the team's notice, not twice.
    assert not Notice.objects.filter(user=world["insider"]).exists()
    assert not _to(world, "bob").exists()  # another team hears nothing
    subject = f"[Agent governance] {team_notice.subject}"
    assert _sent() == {
        "olive@example.test": subject,
        "ivan@example.test": subject,
        "rita@example.test": subject,
    }
    assert OutboxMessage.objects.filter(delivered_at__isnull=True).count() == 0
    # The identical request shares the pending approval and raises nothing new.
    mail.outbox.clear()
    assert _ask(client, world, django_capture_on_commit_callbacks) == approval_id
    assert Notice.objects.filter(kind="approval.waiting").count() == 2 and mail.outbox == []


def test_a_critical_scope_is_announced_only_to_reviewers_outside_the_team(
    client, world, django_capture_on_commit_callbacks
):
    Scope.objects.filter(resource=world["w"].resource, action="read").update(sensitivity="critical")
    _ask(client, world, django_capture_on_commit_callbacks)
    (notice,) = Notice.objects.filter(kind="approval.waiting")
    assert notice.user == world["rita"] and "outside the team" in notice.body
    assert _sent() == {"rita@example.test": f"[Agent governance] {notice.subject}"}


def test_the_team_is_told_of_the_decision_and_refusals_tell_nobody(
    client, world, django_capture_on_commit_callbacks
):
    approval_id = _ask(client, world, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    url = f"/api/v1/approvals/{approval_id}/approve"
    client.force_login(world["bob"])  # another team's member: 404, nothing raised
    assert client.post(url, content_type="application/json").status_code == 404
    client.force_login(world["rita"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "month end"}, content_type="application/json")
    assert response.status_code == 200, response.content
    decided = Notice.objects.get(kind="approval.approved")
    assert decided.team == world["team"] and decided.link == f"/portal/approvals/{approval_id}/"
    assert "rita approved it: month end" in decided.body
    assert set(_sent()) == {"olive@example.test", "ivan@example.test"}
    assert all("approved" in subject for subject in _sent().values())
    # Deciding again is refused (409): no second notice, no email.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(url, content_type="application/json")
    assert again.status_code == 409 and mail.outbox == []
    assert Notice.objects.filter(kind__in=["approval.approved", "approval.denied"]).count() == 1


def test_the_portal_and_the_cli_deny_and_the_team_hears_it(
    client, world, django_capture_on_commit_callbacks
):
    import io

    from django.core.management import call_command

    approval_id = _ask(client, world, django_capture_on_commit_callbacks)
    client.force_login(world["owner"])  # a manager of the agent's team may decide a low scope
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/portal/approvals/{approval_id}/", {"decision": "deny", "reason": "not today"}
        )
    assert response.status_code == 302
    assert ApprovalRequest.objects.get(pk=approval_id).status == "denied"
    denied = Notice.objects.get(kind="approval.denied", team=world["team"])
    assert "olive denied it: not today" in denied.body
    # A request decided from the CLI notifies the same way.
    w = world["w"]
    with django_capture_on_commit_callbacks(execute=True):
        other = w.decide(client, cost=5).json()["approval"]["id"]
        call_command(
            "approvals", "approve", other, "--by=rita", "--reason=ok", stdout=io.StringIO()
        )
    assert Notice.objects.filter(kind="approval.approved", link__contains=other).count() == 1
