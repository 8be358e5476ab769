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
