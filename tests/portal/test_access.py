"""Asking for a scope, revoking a grant, and an agent's connections, from the portal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from agents import services
from agents.models import Agent, Connection, ScopeGrant
from audit.models import AuditEntry
from tests import factories as f

from .conftest import client_for

pytestmark = pytest.mark.django_db

GRANTS = "/portal/agents/red-bot/grants/new/"
CONNECT = "/portal/agents/red-bot/connections/new/"


def _future(hours: int = 24) -> str:
    return (timezone.now() + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def test_ask_for_a_scope(org):
    client = client_for(org["alice"])
    page = client.get(GRANTS)
    assert page.status_code == 200
    assert "payments:initiate — critical sensitivity" in page.content.decode()
    response = client.post(
        GRANTS,
        {"scope": org["read"].pk, "justification": "Reads the ledger.", "expires_at": _future()},
    )
    assert response.status_code == 302
    grant = ScopeGrant.objects.get(agent=org["ours"], scope=org["read"])
    assert (grant.justification, grant.granted_by) == ("Reads the ledger.", org["alice"])
    assert grant.expires_at is not None
    entry = AuditEntry.objects.get(action="grant.create")
    assert (entry.actor, entry.reason) == ("user:alice", "Reads the ledger.")
    # A scope held already is no longer offered.
    again = client.get(GRANTS).context["form"].fields["scope"].queryset
    assert org["read"] not in again


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"justification": "why"}, "scope"),
        ({"scope": "read", "justification": "  "}, "justification"),
        ({"scope": "read", "justification": "why", "expires_at": "2001-01-01T10:00"}, "expires_at"),
        ({"scope": "read", "justification": "why", "expires_at": "tomorrow"}, "expires_at"),
    ],
)
def test_a_bad_scope_request_changes_nothing(org, data, field):
    if data.get("scope") == "read":
        data = {**data, "scope": org["read"].pk}
    before = AuditEntry.objects.count()
    response = client_for(org["alice"]).post(GRANTS, data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ScopeGrant.objects.exists()
    assert AuditEntry.objects.count() == before


def test_the_services_refusal_shows_on_the_form(org):
    services.agent_suspend(agent=org["ours"], reason="test")
    response = client_for(org["alice"]).post(
        GRANTS, {"scope": org["read"].pk, "justification": "why"}
    )
    assert response.status_code == 400
    assert "grants need an active agent" in response.content.decode()
    assert not ScopeGrant.objects.exists()


def test_revoke_a_grant_with_a_reason(org):
    grant = f.ScopeGrantFactory(agent=org["ours"], scope=org["read"])
    url = f"/portal/agents/red-bot/grants/{grant.pk}/revoke/"
    client = client_for(org["rita"])  # containment: reviewers may
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": ""}).status_code == 400
    assert ScopeGrant.objects.get(pk=grant.pk).status == ScopeGrant.Status.ACTIVE
    assert client.post(url, {"reason": "not used"}).status_code == 302
    assert ScopeGrant.objects.get(pk=grant.pk).status == ScopeGrant.Status.REVOKED
    assert AuditEntry.objects.get(action="grant.revoke").reason == "not used"
    assert client.post(url, {"reason": "again"}).status_code == 404  # no longer active


def test_a_reviewer_may_not_ask_for_a_scope(org):
    client = client_for(org["rita"])
    assert client.get(GRANTS).status_code == 403
    assert client.post(GRANTS, {"scope": org["read"].pk, "justification": "x"}).status_code == 403
    assert not ScopeGrant.objects.exists()


def test_connect_change_and_remove(org):
    client = client_for(org["alice"])
    assert client.get(CONNECT).status_code == 200
    response = client.post(
        CONNECT,
        {
            "resource": org["ledger"].pk,
            "allowed_actions": "write, read read",
            "rate_limit": "100",
            "rate_window_seconds": "60",
            "budget_cap": "900",
            "budget_period": "day",
            "trust_floor": "trusted",
        },
    )
    assert response.status_code == 302
    connection = Connection.objects.get(agent=org["ours"])
    assert connection.allowed_actions == ["read", "write"]
    assert (connection.rate_limit, connection.budget_cap, connection.trust_floor) == (
        100,
        Decimal("900"),
        "trusted",
    )
    assert AuditEntry.objects.get(action="connection.create").actor == "user:alice"
    page = client.get("/portal/agents/red-bot/").content.decode()
    assert "900.00 EUR per day" in page
    assert "900.0000" not in page

    edit = f"/portal/agents/red-bot/connections/{connection.pk}/"
    form = client.get(edit)
    assert form.status_code == 200
    assert form.context["form"].initial["allowed_actions"] == ["read", "write"]
    unchanged = {
        "allowed_actions": "read, write",
        "rate_limit": "100",
        "rate_window_seconds": "60",
        "budget_cap": "900",
        "budget_period": "day",
        "trust_floor": "trusted",
    }
    assert client.post(edit, unchanged).status_code == 302
    assert not AuditEntry.objects.filter(action="connection.update").exists()  # nothing changed
    assert client.post(edit, {**unchanged, "allowed_actions": "read"}).status_code == 302
    connection.refresh_from_db()
    assert connection.allowed_actions == ["read"]
    entry = AuditEntry.objects.get(action="connection.update")
    assert entry.changes == {"allowed_actions": [["read", "write"], ["read"]]}

    remove = f"/portal/agents/red-bot/connections/{connection.pk}/remove/"
    assert client.post(remove, {"reason": ""}).status_code == 400
    assert Connection.objects.filter(pk=connection.pk).exists()
    assert client.post(remove, {"reason": "moved to the new ledger"}).status_code == 302
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert AuditEntry.objects.get(action="connection.delete").reason == "moved to the new ledger"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"allowed_actions": ""}, "allowed_actions"),
        ({"allowed_actions": "read, ledger:write"}, "allowed_actions"),
        ({"budget_cap": "-1"}, "budget_cap"),
        ({"budget_cap": "1.23456"}, "budget_cap"),
        ({"rate_limit": "0"}, "rate_limit"),
        ({"rate_window_seconds": "0"}, "rate_window_seconds"),
        ({"trust_floor": "bogus"}, "trust_floor"),
        ({"resource": "999999"}, "resource"),
        ({"expires_at": "2001-01-01T00:00"}, "expires_at"),
    ],
)
def test_a_bad_connection_changes_nothing(org, data, field):
    base = {
        "resource": org["ledger"].pk,
        "allowed_actions": "read",
        "rate_window_seconds": "60",
        "budget_period": "day",
        "trust_floor": "pending",
    }
    before = AuditEntry.objects.count()
    response = client_for(org["alice"]).post(CONNECT, {**base, **data})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Connection.objects.exists()
    assert AuditEntry.objects.count() == before


def test_a_connected_resource_is_not_offered_twice(org):
    f.ConnectionFactory(agent=org["ours"], resource=org["ledger"])
    choices = client_for(org["alice"]).get(CONNECT).context["form"].fields["resource"].queryset
    assert org["ledger"] not in choices and org["wiki"] in choices


def test_a_decommissioned_agent_offers_no_forms(org):
    services.agent_decommission(agent=org["ours"], reason="gone")
    page = client_for(org["alice"]).get("/portal/agents/red-bot/").content.decode()
    for link in ("grants/new/", "connections/new/", "credentials/new/", "versions/new/"):
        assert f'href="/portal/agents/red-bot/{link}"' not in page
    assert Agent.objects.get(slug="red-bot").status == "decommissioned"
