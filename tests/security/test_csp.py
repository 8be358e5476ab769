"""A Content-Security-Policy on every response, strict enough to stop injected script (issue 13
item 12): scripts only from this origin and never inline, no plugins, no framing. Every HTML
page of the portal and the admin is walked for inline script, and a real browser loads the
portal, the admin, Redoc and Swagger UI under the policy and reports no violation."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests import factories as f
from tests.portal import conftest as portal_fixtures
from tests.routes import all_routes

pytestmark = pytest.mark.django_db

browser = portal_fixtures.browser  # the portal's chromium fixtures
browser_page = portal_fixtures.browser_page
_stray_sessions_ended = portal_fixtures._stray_sessions_ended  # what ``browser`` asks for

PAGES = ["/portal/login/", "/admin/login/", "/api/schema/redoc/", "/api/schema/ui/", "/portal/"]


def _directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_a_strict_policy(path):
    client = Client()
    if "login" not in path:
        client.force_login(f.platform_admin(username="root"))
    response = client.get(path)
    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert "'unsafe-eval'" not in str(policy)
    assert "'unsafe-inline'" not in policy.get("default-src", [])


def test_machine_endpoints_carry_it_too(client):
    response = client.get("/.well-known/jwks.json")
    assert "default-src 'self'" in response["Content-Security-Policy"]


# A script element without src that the browser would run (json_script's data blocks are not).
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def test_no_html_page_has_inline_script():
    """Every parameterless GET page of the portal, the admin and the docs, as a platform admin:
    no ``<script>`` without ``src``, no ``on…=`` handler attribute, no ``javascript:`` URL."""
    client = Client()
    client.force_login(f.platform_admin(username="root"))
    checked = []
    for route in all_routes():
        if route.params or not route.template.startswith(("portal/", "admin/", "api/schema/")):
            continue
        if "logout" in route.template:
            continue
        response = client.get(route.url())
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), route.template
        assert not HANDLER.search(html), route.template
        assert "javascript:" not in html, route.template
        checked.append(route.template)
    assert len(checked) >= 20, checked


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_work_in_a_browser_under_the_policy(live_server, browser_page):
    f.platform_admin(username="root")
    page = browser_page
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "correct horse battery staple")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/agents/agent/add/")
    page.goto(f"{live_server.url}/portal/")
    page.goto(f"{live_server.url}/api/schema/ui/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    page.goto(f"{live_server.url}/api/schema/redoc/")
    page.wait_for_selector("h1:has-text('Agent governance portal API')", timeout=30_000)
    # Redoc's footer asks its CDN for a logo: blocked, as anything from elsewhere must be.
    assert [v for v in violations if "cdn.redoc.ly" not in v] == []
