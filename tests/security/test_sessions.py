"""Sessions end by policy: after SESSION_IDLE_TIMEOUT without a request and SESSION_MAX_AGE
after sign-in however busy (issue 13 item 12; Django's default was 14 days)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests import factories as f

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def _sign_in(client, username: str) -> None:
    response = client.post("/portal/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302


def test_the_session_cookie_lives_hours_not_weeks(client):
    f.UserFactory(username="alice")
    _sign_in(client, "alice")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert 0 < int(cookie["max-age"]) <= 8 * 3600
    assert cookie["httponly"]


def test_an_idle_session_expires(client):
    f.UserFactory(username="alice")
    _sign_in(client, "alice")
    assert client.get("/portal/").status_code == 200
    # The row's expiry is the idle timeout from the last request; move it past.
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    response = client.get("/portal/")
    assert response.status_code == 302 and "/portal/login/" in response["Location"]


def test_a_busy_session_ends_at_its_maximum_age(client, settings):
    settings.SESSION_MAX_AGE = 60
    f.UserFactory(username="alice")
    _sign_in(client, "alice")
    assert client.get("/portal/").status_code == 200  # notes when the session started
    session = client.session
    session["_session_started_at"] = int(time.time()) - 61
    session.save()
    response = client.get("/portal/")
    assert response.status_code == 302 and "/portal/login/" in response["Location"]
    assert client.get("/portal/").status_code == 302  # stays signed out


def test_activity_renews_the_idle_expiry(client):
    f.UserFactory(username="alice")
    _sign_in(client, "alice")
    Session.objects.update(expire_date=timezone.now() + timezone.timedelta(seconds=30))
    assert client.get("/portal/").status_code == 200
    renewed = Session.objects.get().expire_date
    assert renewed > timezone.now() + timezone.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT - 60)
