"""The resource-server helper against a live server: JWKS offline checks, rotation, decisions."""

from __future__ import annotations

import jwt
import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from agents import services as registry
from credentials import signing
from credentials.services.keys import signing_keys_rotate
from governance.resource_server import JWKSCache, TokenRejected, verify_access_token
from governance.resource_server.conf import _build
from governance.resource_server.jwks import JWKSError
from governance.resource_server.middleware import AgentGovernanceMiddleware
from governance.resource_server.permissions import AgentDecisionPermission

from .conftest import make_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live(live_server, settings):
    settings.OAUTH_ISSUER = live_server.url
    settings.RATE_LIMIT_BACKEND = "database"
    world = make_world()
    settings.AGENT_GOVERNANCE = {
        "ISSUER": live_server.url,
        "AUDIENCE": world.resource.audience,
        "RESOURCE": world.resource.slug,
        "CLIENT_ID": world.resource.slug,
        "CLIENT_SECRET": world.extra["rs_secret"],
    }
    _build.cache_clear()
    yield world
    _build.cache_clear()


def _request(token: str | None, method: str = "get"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(RequestFactory(), method)("/ledger/entries", **headers)


def test_offline_verification_caches_the_jwks_and_refetches_on_rotation(live, live_server):
    jwks = JWKSCache(f"{live_server.url}/.well-known/jwks.json", min_refetch_seconds=0)
    token = live.token()
    claims = verify_access_token(
        token, jwks=jwks, issuer=live_server.url, audience=live.resource.audience
    )
    assert claims["sub"] == live.agent.slug
    verify_access_token(token, jwks=jwks, issuer=live_server.url, audience=live.resource.audience)
    assert jwks.fetches == 1  # the second check needed no fetch
    known = set(jwks._keys)
    # The JWKS publishes the next key ahead of use; rotating twice signs with a key that was
    # not in the document the resource server fetched.
    for _ in range(2):
        signing_keys_rotate(force=True)
    signing.forget()
    rotated = live.token()
    assert jwt.get_unverified_header(rotated)["kid"] not in known
    verify_access_token(rotated, jwks=jwks, issuer=live_server.url, audience=live.resource.audience)
    assert jwks.fetches == 2  # unknown kid → one refetch
    with pytest.raises(TokenRejected) as exc:
        verify_access_token(rotated, jwks=jwks, issuer=live_server.url, audience="https://other")
    assert exc.value.reason == "wrong_audience"
    with pytest.raises(TokenRejected):
        verify_access_token("x.y.z", jwks=jwks, issuer=live_server.url, audience="a")


def test_middleware_allows_denies_and_refuses(live):
    seen = []
    middleware = AgentGovernanceMiddleware(lambda r: seen.append(r) or HttpResponse("ok"))
    token = live.token()
    ok = middleware(_request(token))
    assert ok.status_code == 200
    assert seen[0].agent_access.agent == live.agent.slug
    assert seen[0].agent_access.decision["decision"] == "allow"
    assert middleware(_request(None)).status_code == 401
    bad = middleware(_request("a.b.c"))
    assert bad.status_code == 401 and "invalid_token" in bad["WWW-Authenticate"]
    # DELETE maps to "delete", which the connection does not allow
    denied = middleware(_request(token, "delete"))
    assert denied.status_code == 403
    assert b"action_not_allowed" in denied.content
    # incident response reaches the resource server on the very next request
    registry.agent_suspend(agent=live.agent, reason="incident")
    suspended = middleware(_request(token))
    assert suspended.status_code == 403 and b"agent_inactive" in suspended.content
    assert len(seen) == 1


class Entries(APIView):
    authentication_classes: list = []
    permission_classes = [AgentDecisionPermission]
    agent_action = {"GET": "read", "POST": "write"}

    def agent_cost(self, request):
        return request.headers.get("X-Cost")

    def get(self, request):
        return Response({"agent": request.agent_access.agent})

    post = get


def test_drf_permission_class(live):
    live.connection.budget_cap = 5
    live.connection.save()
    token = live.token()
    factory = APIRequestFactory()
    view = Entries.as_view()
    resp = view(factory.get("/entries", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert resp.status_code == 200 and resp.data == {"agent": live.agent.slug}
    resp = view(factory.post("/entries", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_COST="6"))
    assert resp.status_code == 403
    assert resp.data["reasons"] == ["budget_exceeded"]
    assert view(factory.get("/entries")).status_code == 401


def test_jwks_outage_keeps_known_keys_and_fails_closed_on_unknown_ones(live, live_server, settings):
    jwks = JWKSCache(f"{live_server.url}/.well-known/jwks.json", ttl_seconds=0)
    token = live.token()
    kid = jwt.get_unverified_header(token)["kid"]
    assert jwks.key(kid) is not None
    nowhere = "http://127.0.0.1:9/.well-known/jwks.json"  # nothing listens on the discard port
    jwks.url = nowhere
    assert jwks.key(kid) is not None  # stale but published: still usable
    with pytest.raises(JWKSError):
        jwks.key("never-published")
    # through the middleware, an issuer it cannot reach is a 503, never an allow
    settings.AGENT_GOVERNANCE = {**settings.AGENT_GOVERNANCE, "JWKS_URL": nowhere}
    _build.cache_clear()
    middleware = AgentGovernanceMiddleware(lambda r: HttpResponse("ok"))
    assert middleware(_request(token)).status_code == 503
