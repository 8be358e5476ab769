"""Scope reviews decided in the Django admin (issue 11, everywhere): the changelist's actions and
the review page's buttons call ``scope_review_decide``, whose refusals come back as messages.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from agents.models import Agent, AgentVersion, ScopeGrant
from audit.models import AuditEntry

from .conftest import client_for

pytestmark = pytest.mark.django_db

LIST = "/admin/grants/scopereview/"


def _page(version) -> str:
    return f"{LIST}{version.pk}/change/"


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _act(user, version, action: str, reason: str = "fine"):
    return client_for(user).post(
        LIST, {"action": action, "_selected_action": [version.pk], "reason": reason}
    )


def _state(version) -> str:
    return AgentVersion.objects.get(pk=version.pk).scope_review


def test_a_reviewer_outside_the_team_approves_with_the_action(org, moved):
    listed = client_for(org["rita"]).get(LIST).content.decode()
    assert "+payments:refund -payments:read" in listed and "Approve: grant" in listed
    response = _act(org["rita"], moved, "approve", "refunds replace reads")
    assert response.status_code == 302
    assert _messages(response) == ["Approved: 1."]
    assert _state(moved) == "approved"
    agent = Agent.objects.get(pk=org["ours"].pk)
    assert agent.current_version_id == moved.pk
    held = set(ScopeGrant.objects.active().filter(agent=agent).values_list("scope__name", flat=1))
    assert held == {"payments:refund"}
    entry = AuditEntry.objects.get(action="agent.version.approve")
    assert (entry.actor, entry.reason) == ("user:rita", "refunds replace reads")
    again = _act(org["root"], moved, "deny")
    assert _messages(again) == ["version 1.1 has no pending scope review"]


def test_refusals_are_the_services_and_change_nothing(org, moved):
    # The agent's own team sees the review but has no decision actions: nothing happens.
    owner = client_for(org["alice"])
    assert "Approve: grant" not in owner.get(LIST).content.decode()
    _act(org["alice"], moved, "approve")
    # A reviewer who belongs to the team is refused by the service, shown as a message.
    refused = _act(org["insider"], moved, "approve")
    assert _messages(refused) == ["a member of the requesting team may not decide its request"]
    # A decision without a comment is refused too.
    assert _messages(_act(org["rita"], moved, "approve", reason=" ")) == [
        "a decision needs a comment"
    ]
    # Another team's member: no decision actions, and the row is not there (404 on its page).
    outsider = _act(org["bob"], moved, "approve")
    assert outsider.status_code == 200 and "1.1" not in outsider.content.decode()
    assert client_for(org["bob"]).get(_page(moved)).status_code == 404
    assert "1.1" not in client_for(org["bob"]).get(LIST).content.decode()
    assert _state(moved) == "pending"
    decided = ("agent.version.approve", "agent.version.deny")
    assert not AuditEntry.objects.filter(action__in=decided).exists()
    assert not ScopeGrant.objects.filter(scope=org["high"]).exists()


def test_the_review_page_has_buttons_that_call_the_service(org, moved):
    rita = client_for(org["rita"])
    shown = rita.get(_page(moved)).content.decode()
    assert "+payments:refund" in shown and "-payments:read" in shown
    assert 'value="approve"' in shown and 'value="deny"' in shown
    # The team reads the page without buttons, and a post from it is refused.
    owner = client_for(org["alice"])
    assert 'value="approve"' not in owner.get(_page(moved)).content.decode()
    forbidden = owner.post(_page(moved), {"decision": "approve", "reason": "mine"})
    assert forbidden.status_code == 403
    assert client_for(org["bob"]).post(_page(moved), {"decision": "approve"}).status_code == 404
    refused = client_for(org["insider"]).post(_page(moved), {"decision": "approve", "reason": "x"})
    assert _messages(refused) == ["a member of the requesting team may not decide its request"]
    assert _state(moved) == "pending"
    response = rita.post(_page(moved), {"decision": "deny", "reason": "not justified"})
    assert response.status_code == 302 and response["Location"] == _page(moved)
    assert _messages(response) == ["Denied: 1."]
    assert _state(moved) == "denied"
    assert Agent.objects.get(pk=org["ours"].pk).current_version.label == "1.0"
    assert AuditEntry.objects.get(action="agent.version.deny").reason == "not justified"
    assert 'value="approve"' not in rita.get(_page(moved)).content.decode()
