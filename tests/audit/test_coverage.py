"""Human changes to users and roles are audited, and an action whose entry fails does not happen."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from agents import services as agent_services
from agents.models import Agent
from agents.permissions import PLATFORM_ADMIN
from audit.models import AuditEntry
from audit.services import AuditWriteError
from tests import factories as f
from tests.db import statements_refused

pytestmark = pytest.mark.django_db


def audit_store_refuses_writes():
    """A real failure of the audit INSERT: a temporary trigger that rejects every new entry."""
    return statements_refused("audit_auditentry", name="audit_test_reject")


def _user_change_form(user, **overrides) -> dict:
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "groups": [],
    }
    data.update(overrides)
    return data


def test_admin_granting_platform_admin_is_one_entry(client):
    root = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    bob = f.UserFactory(username="bob")
    role, _ = Group.objects.get_or_create(name=PLATFORM_ADMIN)
    client.force_login(root)
    before = AuditEntry.objects.count()

    response = client.post(
        f"/admin/auth/user/{bob.pk}/change/",
        _user_change_form(bob, groups=[role.pk]),
        HTTP_X_REQUEST_ID="req-grant-1",
    )

    assert response.status_code == 302, response.content[:2000]
    assert bob.groups.filter(name=PLATFORM_ADMIN).exists()
    entries = list(AuditEntry.objects.filter(id__gt=0).order_by("id"))[before:]
    grant = next(e for e in entries if e.action == "user.groups.add")
    assert (grant.actor, grant.resource, grant.target_type) == ("user:root", "user:bob", "user")
    assert grant.changes == {"groups": {"added": [PLATFORM_ADMIN]}}
    assert (grant.request_id, grant.source_ip) == ("req-grant-1", "127.0.0.1")
    staff = next(e for e in entries if e.action == "user.change")
    assert staff.changes["is_staff"] == [False, True]


def test_changes_outside_the_admin_are_audited_and_passwords_redacted():
    alice = f.UserFactory(username="alice")
    role, _ = Group.objects.get_or_create(name="security-reviewer")
    role.user_set.add(alice)
    alice.is_superuser = True
    alice.set_password("a new secret passphrase")
    alice.save()
    alice.groups.clear()

    entries = AuditEntry.objects.filter(resource__in=["user:alice", "group:security-reviewer"])
    by_action = {e.action: e for e in entries}
    assert by_action["user.create"].changes["username"] == [None, "alice"]
    assert by_action["group.members.add"].changes == {"members": {"added": ["alice"]}}
    change = by_action["user.change"]
    assert change.changes["is_superuser"] == [False, True]
    assert change.changes["password"] == "[redacted]"
    assert "pbkdf2" not in str(change.changes)
    assert by_action["user.groups.remove"].changes == {"groups": {"removed": ["security-reviewer"]}}
    assert all(e.actor == "system" for e in entries)


def test_login_is_not_a_change(client):
    user = f.UserFactory(username="carol")
    before = AuditEntry.objects.count()
    response = client.post(
        "/portal/login/", {"username": "carol", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302  # signed in (django-axes needs the request: a real POST)
    assert AuditEntry.objects.count() == before
    assert user.pk


@pytest.mark.django_db(transaction=True)
def test_failed_entry_stops_a_role_grant_even_outside_a_transaction():
    dave = f.UserFactory(username="dave")
    role, _ = Group.objects.get_or_create(name=PLATFORM_ADMIN)
    with audit_store_refuses_writes(), pytest.raises(AuditWriteError):
        dave.groups.add(role)
    assert not dave.groups.exists()
    with audit_store_refuses_writes(), pytest.raises(AuditWriteError):
        dave.is_superuser = True
        dave.save()
    dave.refresh_from_db()
    assert not dave.is_superuser


def test_failed_entry_stops_a_service_call():
    agent = f.AgentFactory()
    with audit_store_refuses_writes(), pytest.raises(AuditWriteError):
        agent_services.agent_suspend(agent=agent, reason="incident 42")
    agent.refresh_from_db()
    assert agent.status == Agent.Status.ACTIVE
    assert not AuditEntry.objects.filter(action="agent.suspend").exists()


def test_failed_entry_stops_an_api_request_with_503(client):
    admin = f.platform_admin(username="ops")
    agent = f.AgentFactory()
    client.force_login(admin)
    with audit_store_refuses_writes():
        response = client.post(
            f"/api/v1/agents/{agent.slug}/suspend/",
            {"reason": "incident 42"},
            content_type="application/json",
        )
    assert response.status_code == 503
    assert response.json()["error"] == "audit_unavailable"
    agent.refresh_from_db()
    assert agent.status == Agent.Status.ACTIVE
    # And with the store back, the same request works and is recorded.
    response = client.post(
        f"/api/v1/agents/{agent.slug}/suspend/",
        {"reason": "incident 42"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.get(action="agent.suspend")
    assert entry.actor == "user:ops"


def test_failed_entry_stops_an_admin_role_grant_with_503(client):
    root = f.UserFactory(username="root2", is_staff=True, is_superuser=True)
    erin = f.UserFactory(username="erin")
    role, _ = Group.objects.get_or_create(name=PLATFORM_ADMIN)
    client.force_login(root)
    with audit_store_refuses_writes():
        response = client.post(
            f"/admin/auth/user/{erin.pk}/change/", _user_change_form(erin, groups=[role.pk])
        )
    assert response.status_code == 503
    assert not erin.groups.exists()
    erin.refresh_from_db()
    assert not erin.is_staff
