"""A failure under the token endpoint cannot put a secret in an error report (issue 13 item 12):
the secret-bearing form parameters are marked sensitive, and every frame variable whose name
says secret is hidden (governance/security/reports.py)."""

from __future__ import annotations

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter, get_default_exception_reporter_filter

pytestmark = pytest.mark.django_db

SECRET = "agcs_00000000000000ff_" + "a" * 64 + "_00000000"
SUBJECT = "eyJ" + ".subject.x"  # built, so that no source line shown in a report contains it
PEPPER = b"pepper" + b"-bytes"


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_oauth_endpoints_mark_their_secret_parameters_sensitive(client, path):
    response = client.post(
        path,
        {
            "grant_type": "client_credentials",
            "client_id": "nobody",
            "client_secret": SECRET,
            "client_assertion": "eyJ.assertion.x",
            "subject_token": "eyJ.subject.x",
            "token": "eyJ.token.x",
        },
    )
    assert response.status_code in (400, 401)
    request = response.wsgi_request
    cleaned = get_default_exception_reporter_filter().get_post_parameters(request)
    for name in ("client_secret", "client_assertion", "subject_token", "token"):
        assert cleaned[name] == "********************", name
    report = ExceptionReporter(request, RuntimeError, RuntimeError("boom"), None)
    text = report.get_traceback_text()
    for value in (SECRET, "eyJ.assertion.x", "eyJ.subject.x", "eyJ.token.x"):
        assert value not in text


def test_self_rotation_marks_the_secret_sensitive(client):
    body = {"client_id": "x", "client_secret": SECRET}
    response = client.post("/api/v1/credentials/rotate", body)
    cleaned = get_default_exception_reporter_filter().get_post_parameters(response.wsgi_request)
    assert cleaned["client_secret"] == "********************"


def _fail_holding(client_secret: str, subject_token: str, pepper: bytes) -> None:
    scope = "ledger:read"  # an ordinary variable stays visible
    raise ValueError(f"failed for {scope}")


def test_frame_variables_named_like_secrets_are_hidden_in_reports():
    request = RequestFactory().post("/oauth/token")
    try:
        _fail_holding(SECRET, SUBJECT, PEPPER)
    except ValueError:
        report = ExceptionReporter(request, *sys.exc_info())
    text = report.get_traceback_text()
    assert SECRET not in text
    assert SUBJECT not in text
    assert PEPPER.decode() not in text
    assert "ledger:read" in text


def test_a_secret_is_hidden_inside_a_frame_variable_holding_a_dict():
    request = RequestFactory().get("/")

    def fail(payload):
        raise KeyError("missing")

    try:
        fail({"client_secret": SECRET, "scope": "x"})
    except KeyError:
        report = ExceptionReporter(request, *sys.exc_info())
    # The frame variable's *name* (payload) says nothing; its keys do.
    frames = report.get_traceback_frames()
    shown = [value for frame in frames for _name, value in frame["vars"]]
    assert not any(SECRET in str(value) for value in shown)
