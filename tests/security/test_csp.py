"""A Content-Security-Policy on every response, strict enough to stop injected script (issue 13
item 12): scripts only from this origin and never inline, no plugins, no framing. Every HTML
page of the portal and the admin is walked for inline script, and a real browser loads the
portal, the admin, Redoc and Swagger UI under the policy and reports no violation."""

from __future__ import annotations

import re

import pytest
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse, HttpResponseNotFound
from django.test import Client, RequestFactory

from governance.security.csp import CSPMiddleware
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


# governance.security.csp builds the settings' header once; django-csp builds it per response.
# For every kind of response both must set the same headers, byte for byte.


def _page(request):
    return HttpResponse("<p>page</p>")


VIEWS = {
    "plain": _page,
    "csp_update": csp_update({"style-src": ["'unsafe-inline'"]})(_page),
    "csp_replace": csp_replace({"img-src": ["https://img.example"]})(_page),
    "csp_exempt": csp_exempt()(_page),
    "report-only exempt": csp_exempt(REPORT_ONLY=True)(_page),
    "header set by the view": lambda request: _with_header(_page(request)),
    "not found": lambda request: HttpResponseNotFound("gone"),
}
REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"], "report-uri": ["/csp-reports"]}}


def _with_header(response):
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


def _headers(middleware_class, view, path, *, nonce: bool):
    middleware = middleware_class(view)
    request = RequestFactory().get(path)
    middleware.process_request(request)
    if nonce:
        str(request.csp_nonce)  # what a template using the nonce does
    response = middleware.process_response(request, middleware.get_response(request))
    try:  # django-csp: a nonce asked for once the header is written is an error
        str(request.csp_nonce)
        late_nonce = "given"
    except CSPNonceError:
        late_nonce = "refused"
    headers = [(k, v) for k, v in response.items() if k.startswith("Content-Security-Policy")]
    return headers, late_nonce


@pytest.mark.parametrize("settings_case", ["project", "with report-only", "excluded", "debug"])
@pytest.mark.parametrize("nonce", [False, True], ids=["no nonce", "nonce"])
@pytest.mark.parametrize("view", list(VIEWS))
def test_the_built_once_header_is_django_csps(settings, settings_case, nonce, view):
    if settings_case == "with report-only":
        settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = REPORT_ONLY
    elif settings_case == "excluded":
        settings.CONTENT_SECURITY_POLICY = {
            **settings.CONTENT_SECURITY_POLICY,
            "EXCLUDE_URL_PREFIXES": ["/api/"],
        }
    elif settings_case == "debug":
        settings.DEBUG = True
    ours = _headers(CSPMiddleware, VIEWS[view], "/api/v1/decisions", nonce=nonce)
    theirs = _headers(DjangoCSPMiddleware, VIEWS[view], "/api/v1/decisions", nonce=nonce)
    assert ours == theirs
    if view == "plain" and settings_case == "project":
        assert [k for k, _ in ours[0]] == ["Content-Security-Policy"]
        assert ours[1] == ("given" if nonce else "refused")


def test_a_policy_changed_in_the_settings_is_the_next_responses(settings, client):
    before = client.get("/.well-known/jwks.json")["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    after = client.get("/.well-known/jwks.json")["Content-Security-Policy"]
    assert "default-src 'self'" in before
    assert after == "default-src 'none'"
