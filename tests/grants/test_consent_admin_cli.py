"""Connection consent from the admin and the CLI: both call ``connection_consent``, so only the
resource's owners (or a platform admin) accept or decline, and another team changes nothing.
"""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command

from agents import services
from agents.models import Connection
from agents.notices.models import Notice
from audit.models import AuditEntry
from tests import factories as f

from .conftest import client_for

pytestmark = pytest.mark.django_db

LIST = "/admin/agents/connection/"
REFUSED = "only payments's owners consent to its connections"


@pytest.fixture
def pending(org) -> Connection:
    """Alice (team red) connects red-bot to team blue's payments: it waits for blue."""
    connection = services.connection_create(
        agent=org["ours"], resource=org["payments"], allowed_actions=["read"], by=org["alice"]
    )
    assert connection.status == Connection.Status.PENDING
    return connection


def _act(user, connection, action: str, reason: str = ""):
    return client_for(user).post(
        LIST, {"action": action, "_selected_action": [connection.pk], "reason": reason}
    )


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _status(connection) -> str:
    return Connection.objects.get(pk=connection.pk).status


def test_the_resource_owner_accepts_in_the_admin(org, pending):
    listed = client_for(org["bob"]).get(f"{LIST}?status=pending").content.decode()
    assert "red-bot" in listed and "Accept" in listed  # blue sees who asks to connect
    response = _act(org["bob"], pending, "accept", "read only")
    assert response.status_code == 302 and _messages(response) == ["Accepted: 1."]
    assert _status(pending) == "active"
    entry = AuditEntry.objects.get(action="connection.accept")
    assert (entry.actor, entry.reason) == ("user:bob", "read only")
    assert Notice.objects.filter(kind="connection.accepted", team=org["red"]).exists()
    again = _act(org["bob"], pending, "decline")
    assert _messages(again) == [f"connection {pending.pk} is active, not pending"]
    assert _status(pending) == "active"


def test_the_agents_team_and_other_teams_change_nothing_in_the_admin(org, pending):
    # The agent's own team sees its connection, and the service refuses its consent.
    refused = _act(org["alice"], pending, "accept")
    assert _messages(refused) == [REFUSED]
    # A reviewer does not consent for a team: no consent actions at all.
    assert "Accept" not in client_for(org["rita"]).get(LIST).content.decode()
    _act(org["rita"], pending, "accept")
    # A third team's member does not see the row: 404.
    gina = f.team_member(f.TeamFactory(slug="green"), username="gina")
    assert _act(gina, pending, "accept").status_code == 404
    assert client_for(gina).get(f"{LIST}{pending.pk}/change/").status_code == 404
    assert _status(pending) == "pending"
    assert not AuditEntry.objects.filter(action__in=["connection.accept", "connection.decline"])
    # The owners read another team's connection; they do not edit it.
    page = client_for(org["bob"]).get(f"{LIST}{pending.pk}/change/")
    assert page.status_code == 200 and 'name="rate_limit"' not in page.content.decode()
    declined = _act(org["root"], pending, "decline", "not now")
    assert _messages(declined) == ["Declined: 1."] and _status(pending) == "declined"


def _cli(*args) -> str:
    out = io.StringIO()
    call_command("connections", *args, stdout=out)
    return out.getvalue()


def test_the_cli_lists_and_consents_as_the_named_person(org, pending):
    listed = json.loads(_cli("list", "--status=pending", "--by=bob", "--json"))
    assert [(c["id"], c["agent"], c["resource_team"]) for c in listed] == [
        (pending.pk, "red-bot", "blue")
    ]
    gina = f.team_member(f.TeamFactory(slug="green"), username="gina")
    assert json.loads(_cli("list", f"--by={gina.username}", "--json")) == []
    with pytest.raises(CommandError, match=REFUSED):
        _cli("accept", str(pending.pk), "--by=alice")
    with pytest.raises(CommandError, match=f"no connection {pending.pk}"):
        _cli("accept", str(pending.pk), "--by=gina")
    with pytest.raises(CommandError, match="no active user 'nobody'"):
        _cli("accept", str(pending.pk), "--by=nobody")
    assert _status(pending) == "pending"
    done = json.loads(_cli("decline", str(pending.pk), "--comment=no", "--by=bob", "--json"))
    assert done["status"] == "declined" and _status(pending) == "declined"
    entry = AuditEntry.objects.get(action="connection.decline")
    assert (entry.actor, entry.reason) == ("user:bob", "no")
    assert Notice.objects.filter(kind="connection.declined", team=org["red"]).exists()
    with pytest.raises(CommandError, match="is declined, not pending"):
        _cli("accept", str(pending.pk), "--by=bob")
    assert f"{pending.pk}  declined" in _cli("list", "--by=alice")
