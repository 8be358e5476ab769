"""A NUL character anywhere in API input is a 400 with a field error, never a 500.

Found by the schema fuzzer on PostgreSQL, which refuses NUL in text: ``POST /api/v1/agents/``
with ``owner_team=a%00b`` was a 500 (the slug lookup's DataError), and so were runs and
workflows. Every query parameter of every list endpoint and every property of every collection's
POST body is taken from the OpenAPI schema, so a new one is covered the day it is added.
"""

from __future__ import annotations

import pytest

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
