"""Issue 13, item 7: every list endpoint bounds its page, and bad paging input is a clean 400.

``?limit=9223372036854775808`` gave a 500 on every list endpoint, and there was no maximum
page size (one request could dump the whole audit log). The list endpoints are taken from the
URL conf (``tests/routes.py``): a new one is covered the day it is added.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from agents import services as registry
from agents.drift.services import configuration_observed
from agents.notices.services import notify
from audit.chain import sequence_pending
from audit.services import checkpoint_create, record
from governance.approvals.services import approval_request_open
from governance.auditlog.keys import sign_checkpoint
from governance.pagination import MAX_OFFSET
from tests import factories as f
from tests.attestations.signers import ed25519_signer, register
from tests.routes import all_routes
from trust.attestations.services import attestation_submit
from trust.recompute import recompute_agents

pytestmark = pytest.mark.django_db

HUGE = "9223372036854775808"  # 2**63: one past a 64-bit column


@pytest.fixture
def admin_client():
    """A platform admin, and at least one row behind every list (an empty list never queries)."""
    team = f.TeamFactory()
    agent = f.AgentFactory(owner_team=team)
    f.AgentVersionFactory(agent=agent)
    resource = f.ResourceFactory(owner_team=team)
    f.ScopeGrantFactory(agent=agent, scope=f.ScopeFactory(name=f"{resource.slug}:read"))
    connection = f.ConnectionFactory(agent=agent, resource=resource)
    registry.run_start(workflow=f.WorkflowFactory(owner_team=team), run_id="r-1", by="system")
    from credentials.services import credential_issue

    credential_issue(agent=agent, by="system")
    from governance.reviews.services import review_campaign_open

    review_campaign_open(by="system")  # a campaign and an item behind the review lists
    recompute_agents([agent.pk])  # a trust policy version and a history row
    approval_request_open(
        agent=agent, resource=resource, connection_id=connection.pk, action="read", cost=Decimal(0)
    )
    signer = ed25519_signer()
    register(signer)
    attestation_submit(jws=signer.sign(agent))
    admin = f.platform_admin()
    registry.api_token_create(user=admin, name="ci", by=admin)
    notify(kind="test.fill", subject="A notice", body="", user=admin)
    configuration_observed(agent=agent, digest="sha256:" + "e" * 64, via="form")
    registry.agent_version_add(agent=agent, label="p-1", config_digest=f.digest("p-1"))
    registry.agent_version_add(  # asks for a scope the agent lacks: a scope review
        agent=agent,
        label="p-2",
        config_digest=f.digest("p-2"),
        requested_scopes=[f.ScopeFactory(name=f"{resource.slug}:delete")],
    )
    from governance.grants.services import grant_request_open

    grant_request_open(
        agent=agent,
        scope=f.ScopeFactory(name=f"{resource.slug}:write", sensitivity="high"),
        justification="fill the list",
        by=admin,
    )
    for i in range(settings.API_MAX_PAGE_SIZE + 5):
        record(actor="system", action="test.fill", target_id=str(i))
    sequence_pending()
    checkpoint_create(signer=sign_checkpoint)
    client = APIClient()
    client.force_login(admin)
    client.agent_slug = agent.slug
    return client


def list_urls(client) -> list[str]:
    """Every GET route of the API without a path parameter, plus the agent timeline and history."""
    urls = []
    for route in all_routes():
        if not route.template.startswith("api/v1/"):
            continue
        if route.actions and route.actions.get("get") != "list":
            continue
        if route.params == ("slug",) and route.template.endswith(("timeline/", "history/")):
            urls.append(route.url(slug=client.agent_slug))
        elif not route.params:
            urls.append(route.url())
    return urls


def test_every_list_endpoint_bounds_limit_and_offset(admin_client):
    lists = []
    for url in list_urls(admin_client):
        response = admin_client.get(url, {"limit": HUGE})
        assert response.status_code < 500, (url, response.status_code)
        if response.status_code != 200 or "json" not in response.get("Content-Type", ""):
            continue
        body = response.json()
        if not (isinstance(body, dict) and "results" in body):
            continue
        lists.append(url)
        assert body["count"] >= 1, f"{url}: the fixture should put a row behind every list"
        assert len(body["results"]) <= settings.API_MAX_PAGE_SIZE, url
        for params in (
            {"offset": HUGE},
            {"offset": str(MAX_OFFSET + 1)},
            {"limit": "-1"},
            {"limit": "0"},
            {"limit": "abc"},
            {"offset": "1e3"},
            {"limit": "9" * 5000},
        ):
            bad = admin_client.get(url, params)
            assert bad.status_code == 400, (url, params, bad.status_code)
            assert set(bad.json()) == set(params), (url, bad.json())
        assert admin_client.get(url, {"offset": str(MAX_OFFSET)}).json()["results"] == []
    print(f"\n{len(lists)} list endpoints checked: {', '.join(lists)}")
    # Every router list and the hand-written ones (approvals, audit): none slipped through.
    expected = {r.url() for r in all_routes() if r.actions.get("get") == "list"}
    assert expected <= set(lists), expected - set(lists)
    assert {"/api/v1/approvals", "/api/v1/audit/entries/"} <= set(lists)


def test_the_audit_log_is_dumped_one_bounded_page_at_a_time(admin_client):
    body = admin_client.get("/api/v1/audit/entries/", {"limit": HUGE}).json()
    assert body["count"] > settings.API_MAX_PAGE_SIZE
    assert len(body["results"]) == settings.API_MAX_PAGE_SIZE
    assert f"limit={settings.API_MAX_PAGE_SIZE}" in body["next"]


def test_the_schema_states_the_bounds(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    limit = next(
        p for p in schema["paths"]["/api/v1/agents/"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == settings.API_MAX_PAGE_SIZE
    assert limit["schema"]["minimum"] == 1


def test_portal_and_admin_lists_take_any_page_number(admin_client):
    """The human pages paginate with Django's Paginator: a wild page number is no 500."""
    checked = 0
    for route in all_routes():
        if route.params or not route.template.startswith(("portal/", "admin/")):
            continue
        if route.template.endswith(("logout/", "login/")):
            continue
        for params in ({"page": HUGE}, {"page": "-1"}, {"p": HUGE}, {"limit": HUGE}):
            response = admin_client.get(route.url(), params)
            assert response.status_code < 500, (route.template, params, response.status_code)
        checked += 1
    assert checked > 20
