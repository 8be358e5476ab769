"""The decision endpoint runs without Django's cookie-session middlewares; every other path
runs them unchanged (``governance/decisions/middleware.py``)."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from governance.decisions import middleware


def test_machine_paths_get_no_session_no_user_and_no_messages():
    seen = []

    def view(request):
        seen.append(tuple(hasattr(request, a) for a in ("session", "user", "_messages")))
        return HttpResponse()

    chain = middleware.SessionMiddleware(
        middleware.AuthenticationMiddleware(middleware.MessageMiddleware(view))
    )
    factory = RequestFactory()
    chain(factory.post("/api/v1/decisions"))
    chain(factory.post("/api/v1/decisions/"))  # not the same path: the full middleware
    chain(factory.get("/portal/"))
    assert seen == [(False, False, False), (True, True, True), (True, True, True)]


@pytest.mark.django_db
def test_a_logged_in_cookie_does_not_authenticate_a_decision_and_the_portal_still_works(
    client, admin_user, world
):
    client.force_login(admin_user)
    response = client.post(
        "/api/v1/decisions",
        {"token": world.token(), "action": "read", "resource": world.resource.slug},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert "sessionid" not in response.cookies and "messages" not in response.cookies
    # with its own credential the same client is answered, and nothing touches the session
    allowed = world.decide(client, token=world.token())
    assert allowed.json()["decision"] == "allow"
    assert "sessionid" not in allowed.cookies
    assert client.get("/portal/").status_code == 200  # the portal still logs in by cookie
