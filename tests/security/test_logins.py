"""Failed human sign-ins are throttled per account and per address, with a visible lock-out, and
audited (issue 13 item 5): django-axes, wired to the audit log (audit/auth_logins.py).

From outside: real POSTs to the portal's and the admin's sign-in forms."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from audit.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
FORMS = {"portal": "/portal/login/", "admin": "/admin/login/"}


def _attempt(client, form: str, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(
        FORMS[form], {"username": username, "password": password}, REMOTE_ADDR=address
    )


@pytest.mark.parametrize("form", sorted(FORMS))
def test_forty_wrong_passwords_then_the_right_one_is_refused(client, form):
    f.platform_admin(username="alice", password=PASSWORD)
    statuses = [_attempt(client, form, "alice", f"guess-{i}").status_code for i in range(40)]
    assert statuses[0] == 200  # the form again, with its error
    assert set(statuses[5:]) == {429}  # locked after AXES_FAILURE_LIMIT (5)
    response = _attempt(client, form, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session

    failures = AuditEntry.objects.filter(action="user.login", resource="user:alice")
    assert failures.filter(outcome="failure", reason="wrong_credentials").count() == 5
    assert failures.filter(outcome="denied", reason="locked_out").count() >= 1
    lockout = AuditEntry.objects.get(action="user.lockout")
    assert (lockout.resource, lockout.outcome) == ("user:alice", "denied")
    assert lockout.context["ip_address"] == "203.0.113.7"
    assert str(AuditEntry.objects.filter(action="user.login").first().source_ip) == "203.0.113.7"
    assert not any("guess-" in str(e.context) + str(e.changes) for e in failures)


def test_an_account_is_locked_whatever_the_address(client):
    f.UserFactory(username="alice", password=PASSWORD)
    for i in range(5):
        _attempt(client, "portal", "alice", "wrong", address=f"198.51.100.{i + 1}")
    assert _attempt(client, "portal", "alice", PASSWORD, address="192.0.2.99").status_code == 429


def test_an_address_is_locked_whatever_the_account(client):
    f.UserFactory(username="alice", password=PASSWORD)
    for i in range(5):
        _attempt(client, "portal", f"nobody-{i}", "wrong", address="203.0.113.50")
    # Alice has no failure of her own, but this address has spent its attempts.
    assert _attempt(client, "portal", "alice", PASSWORD, address="203.0.113.50").status_code == 429
    response = _attempt(client, "portal", "alice", PASSWORD, address="192.0.2.1")
    assert response.status_code == 302  # elsewhere she signs in


def test_the_lock_out_expires(client, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    f.UserFactory(username="alice", password=PASSWORD)
    for _ in range(5):
        _attempt(client, "portal", "alice", "wrong")
    assert _attempt(client, "portal", "alice", PASSWORD).status_code == 429
    time.sleep(2.2)
    response = _attempt(client, "portal", "alice", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/portal/"


def test_a_success_before_the_limit_resets_the_count(client):
    f.UserFactory(username="alice", password=PASSWORD)
    for _ in range(4):
        _attempt(client, "portal", "alice", "wrong")
    assert _attempt(client, "portal", "alice", PASSWORD).status_code == 302
    client.post("/portal/logout/")
    for _ in range(4):
        _attempt(client, "portal", "alice", "wrong")
    assert _attempt(client, "portal", "alice", PASSWORD).status_code == 302
