"""A NUL character anywhere in API input is a 400 with a field error (or an RFC 6749 error on
the OAuth endpoints), never a 500 or a 503.

Found by the schema fuzzer on PostgreSQL, which refuses NUL in text: ``POST /api/v1/agents/``
with ``owner_team=a%00b`` was a 500 (the slug lookup's DataError), and so were runs and
workflows. Every query parameter of every list endpoint and every property of every collection's
POST body is taken from the OpenAPI schema, so a new one is covered the day it is added.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from audit.models import AuditEntry
from tests.credentials.conftest import agent_with_secret
from tests.decisions.conftest import basic, make_world

from .test_pagination import admin_client as admin_client  # a fixture
from .test_pagination import list_urls

pytestmark = pytest.mark.django_db

NUL = "a\x00b"
# Machine endpoints authenticate their callers by client credentials, not a session
# (tests/decisions covers their input).
MACHINE = {"/api/v1/decisions", "/api/v1/credentials/rotate"}


def _schema(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


def _body_properties(schema: dict, operation: dict) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    if not ref:
        return []
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return [name for name, p in component.get("properties", {}).items() if not p.get("readOnly")]


def test_every_query_parameter_refuses_nul_without_a_500(admin_client):
    schema = _schema(admin_client)
    checked = 0
    for path in list_urls(admin_client):
        names = [
            p["name"]
            for p in schema["paths"].get(path, {}).get("get", {}).get("parameters", [])
            if p.get("in") == "query"
        ]
        for name in names:
            response = admin_client.get(path, {name: NUL})
            assert response.status_code in (200, 400), (path, name, response.status_code)
            checked += 1
    assert checked >= 30


def test_every_collection_post_refuses_nul_with_field_errors(admin_client):
    schema = _schema(admin_client)
    checked = []
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/") or "{" in path or path in MACHINE:
            continue
        if "post" not in operations:
            continue
        names = _body_properties(schema, operations["post"])
        if not names:
            continue
        for name in names:
            response = admin_client.post(path, {name: NUL}, content_type="application/json")
            assert response.status_code < 500, (path, name, response.content[:300])
        every = admin_client.post(path, dict.fromkeys(names, NUL), content_type="application/json")
        assert every.status_code == 400, (path, every.status_code)
        checked.append(path)
    assert {"/api/v1/agents/", "/api/v1/workflows/", "/api/v1/runs/"} <= set(checked)


@pytest.mark.parametrize("field", ["owner_team", "workflow"])
def test_a_slug_with_nul_is_a_field_error(admin_client, field):
    path = "/api/v1/agents/" if field == "owner_team" else "/api/v1/runs/"
    response = admin_client.post(path, {field: NUL}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()[field] == ["Null characters are not allowed."]


# -- the machine endpoints: a refusal, audited, never a 503 for an entry the log cannot hold ---

FORM = "application/x-www-form-urlencoded"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@pytest.mark.parametrize("client_id", [NUL, "x" * 1000, "a\nb"])
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/api/v1/decisions"])
def test_a_client_id_the_audit_log_cannot_hold_is_refused_and_audited(client, path, client_id):
    """The failed authentication is recorded with NUL written out and cut to the column; before, on
    PostgreSQL, the entry could not be written and the decision point answered 503."""
    cache.clear()  # the failure throttle's counters
    response = client.post(
        path,
        urlencode({"grant_type": "client_credentials", "token": "x"}),
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(client_id, "secret"),
    )
    assert response.status_code in (400, 401), response.content
    entry = AuditEntry.objects.filter(action="client.authenticate").latest("seq")
    assert entry.outcome == "failure"
    assert len(entry.resource) <= AuditEntry._meta.get_field("resource").max_length
    assert "\x00" not in entry.resource


def test_a_decision_about_a_resource_with_nul_is_a_400(client, settings):
    settings.RATE_LIMIT_BACKEND = "database"
    world = make_world()
    response = world.decide(client, resource=NUL)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "params",
    [
        {"grant_type": "client_credentials", "scope": NUL},
        {"grant_type": "client_credentials", "resource": NUL},
        {"grant_type": "client_credentials", "config_digest": NUL},
        {"grant_type": TOKEN_EXCHANGE, "subject_token": NUL, "subject_token_type": NUL},
        {"grant_type": TOKEN_EXCHANGE, "subject_token": NUL, "actor_token": NUL, "run_id": NUL},
        {"grant_type": NUL},
    ],
)
def test_token_parameters_with_nul_are_refused(client, params):
    cache.clear()
    agent = agent_with_secret()
    body = {"client_id": agent.client_id, "client_secret": agent.secret, **params}
    response = client.post("/oauth/token", urlencode(body), content_type=FORM)
    assert response.status_code in (400, 401, 403), response.content
    assert "error" in response.json()
