"""The request counters of /metrics: tokens by grant, method and outcome, decisions by outcome
and reason, their latency histograms, throttled authentications (one process here; several
gunicorn workers adding up is tests/platform/test_topology.py)."""

from __future__ import annotations

import base64

import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY

from credentials import services as cred
from tests import factories as f
from tests.decisions.conftest import make_world

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def _empty_throttle():
    cache.clear()
    yield
    cache.clear()


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_tokens_by_grant_method_and_outcome_with_their_latency(client):
    agent = f.AgentFactory()
    secret = cred.credential_issue(agent=agent, by="system").secret
    issued = {"grant": "client_credentials", "method": "client_secret_basic", "outcome": "issued"}
    refused = {"grant": "client_credentials", "method": "client_secret_post"}
    before = (
        value("governance_tokens_total", **issued),
        value("governance_tokens_total", **refused, outcome="invalid_client"),
        value("governance_tokens_total", grant="other", method="none", outcome="invalid_request"),
        value("governance_token_seconds_count"),
    )
    ok = client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type=FORM,
        HTTP_AUTHORIZATION=_basic(agent.slug, secret),
    )
    assert ok.status_code == 200
    bad = client.post(
        "/oauth/token",
        f"grant_type=client_credentials&client_id={agent.slug}&client_secret=wrong",
        content_type=FORM,
    )
    assert bad.status_code == 401
    assert client.post("/oauth/token", "{}", content_type="application/json").status_code == 400
    after = (
        value("governance_tokens_total", **issued),
        value("governance_tokens_total", **refused, outcome="invalid_client"),
        value("governance_tokens_total", grant="other", method="none", outcome="invalid_request"),
        value("governance_token_seconds_count"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 3]
    assert value("governance_token_seconds_sum") > 0


def test_throttled_authentications_are_counted_per_endpoint(client, settings):
    settings.CREDENTIAL_AUTH_FAILURES_PER_CLIENT = (2, 60)
    before = value("governance_auth_throttled_total", endpoint="token")
    statuses = [
        client.post(
            "/oauth/token",
            "grant_type=client_credentials&client_id=nobody&client_secret=nothing",
            content_type=FORM,
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 429, 429]
    assert value("governance_auth_throttled_total", endpoint="token") == before + 2


def test_decisions_by_outcome_and_reason_with_their_latency(client, settings):
    settings.RATE_LIMIT_BACKEND = "database"
    world = make_world(actions=("read",), rate_limit=1)
    token = world.token()
    allow = {"outcome": "allow", "reason": "none"}
    before_allow = value("governance_decisions_total", **allow)
    before_count = value("governance_decision_seconds_count")
    first = world.decide(client, token=token).json()
    second = world.decide(client, token=token).json()
    assert first["decision"] == "allow" and second["decision"] == "deny"
    assert value("governance_decisions_total", **allow) == before_allow + 1
    deny = {"outcome": "deny", "reason": second["reasons"][0]}
    assert second["reasons"][0] == "rate_limited"
    assert value("governance_decisions_total", **deny) >= 1
    unknown = client.post(
        "/api/v1/decisions",
        {"token": token, "action": "read", "resource": world.resource.slug},
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic(world.resource.slug, "wrong"),
    )
    assert unknown.status_code == 401
    assert value("governance_decisions_total", outcome="rejected", reason="invalid_client") >= 1
    assert value("governance_decision_seconds_count") == before_count + 3
