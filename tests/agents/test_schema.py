"""The OpenAPI schema describes the registry API, and its UI loads with no external URL."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def test_schema_lists_the_registry_api():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in [
        "/api/v1/agents/{slug}/suspend/",
        "/api/v1/agents/{slug}/reactivate/",
        "/api/v1/agents/{slug}/decommission/",
        "/api/v1/grants/{id}/revoke/",
        "/api/v1/runs/{run_id}/complete/",
        "/api/v1/runs/{run_id}/cancel/",
        "/api/v1/scopes/{name}/",
        "/api/v1/tokens/",
    ]:
        assert path in paths, path
    suspend = paths["/api/v1/agents/{slug}/suspend/"]["post"]
    assert {"200", "404", "409"} <= set(suspend["responses"])
    assert "apiToken" in schema["components"]["securitySchemes"]
    agents = paths["/api/v1/agents/"]["get"]
    assert {"status", "owner_team", "limit", "offset", "search", "ordering"} <= {
        p["name"] for p in agents["parameters"]
    }


def test_schema_ui_uses_only_local_assets():
    response = Client().get("/api/schema/ui/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    urls += re.findall(r"""["'](https?://[^"']+)["']""", html)
    assert urls, "expected the page to load assets"
    external = [u for u in urls if u.startswith(("http://", "https://", "//"))]
    assert external == []
    # every asset is a static file shipped in the sidecar package (served by whitenoise)
    for url in urls:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url


def _schema() -> dict:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi():
    from openapi_spec_validator import validate

    validate(_schema())  # raises with the first violation


def test_schema_documents_the_plain_endpoints():
    """Issue 13 item 11: the decision point, self-rotation and the OAuth endpoints are
    operations with form bodies and RFC 6749 error responses."""
    schema = _schema()
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/decisions", "post"),
        ("/api/v1/credentials/rotate", "post"),
        ("/oauth/token", "post"),
        ("/oauth/introspect", "post"),
        ("/oauth/revoke", "post"),
        ("/.well-known/jwks.json", "get"),
        ("/.well-known/oauth-authorization-server", "get"),
    ]:
        assert method in paths.get(path, {}), path
    token = paths["/oauth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    error = schema["components"]["schemas"]["OAuthError"]
    assert {"invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type"} <= set(
        error["properties"]["error"]["enum"]
    )
    for status in ("400", "401", "503"):
        ref = token["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/OAuthError")
    assert "clientSecretBasic" in schema["components"]["securitySchemes"]


def test_the_documented_oauth_error_is_what_the_endpoint_answers(client):
    schema = _schema()
    codes = schema["components"]["schemas"]["OAuthError"]["properties"]["error"]["enum"]
    response = client.post("/oauth/token", {"grant_type": "password"})
    assert response.status_code in (400, 401)
    assert response.json()["error"] in codes


def test_approvals_list_is_documented_as_the_page_it_returns(client):
    from tests import factories as f

    schema = _schema()
    operation = schema["paths"]["/api/v1/approvals"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert {"limit", "offset", "status"} <= {p["name"] for p in operation["parameters"]}
    client.force_login(f.platform_admin(username="root"))
    body = client.get("/api/v1/approvals?limit=1").json()
    assert set(page["properties"]) <= set(body)
