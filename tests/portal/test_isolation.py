"""Another team's agent does not exist for you: 404 on every portal page and form, GET and POST.

The routes are read from the portal's URL map, so a page added later is covered without
editing this test; a route with an argument this test cannot fill fails it loudly.
"""

from __future__ import annotations

import re

import pytest

from agents.drift.models import ObservedConfiguration
from agents.drift.services import configuration_observed
from agents.models import Agent, Connection, ScopeGrant
from audit.models import AuditEntry
from credentials.models import Credential
from credentials.services import credential_issue
from governance.portal import urls
from tests import factories as f

from .conftest import client_for

pytestmark = pytest.mark.django_db


def _agent_routes() -> list[str]:
    """Every portal route under an agent, as a template (``agents/<slug:slug>/…``)."""
    return [str(p.pattern) for p in urls.urlpatterns if "<slug:slug>" in str(p.pattern)]


def _fill(route: str, values: dict[str, str]) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1).split(":")[-1]
        assert name in values, f"test_isolation does not know how to fill <{name}> in {route}"
        return values[name]

    return "/portal/" + re.sub(r"<([^>]+)>", one, route)


@pytest.fixture
def theirs(org):
    agent = org["theirs"]
    return {
        "slug": agent.slug,
        "grant_id": str(f.ScopeGrantFactory(agent=agent, scope=org["read"]).pk),
        "connection_id": str(f.ConnectionFactory(agent=agent, resource=org["ledger"]).pk),
        "credential_id": credential_issue(agent=agent, by="system").credential.pk,
        "configuration_id": str(_observed(agent).pk),
        "action": "suspend",
    }


def _observed(agent) -> ObservedConfiguration:
    return configuration_observed(agent=agent, digest=f.digest(agent.slug), via="form")


def _state():
    return (
        list(Agent.objects.values_list("slug", "status")),
        ScopeGrant.objects.filter(status="active").count(),
        Connection.objects.count(),
        Credential.objects.filter(status="active").count(),
        AuditEntry.objects.count(),
        ObservedConfiguration.objects.filter(reviewed_at=None).count(),
    )


def test_every_agent_route_is_covered():
    routes = _agent_routes()
    assert len(routes) >= 12
    assert any("credentials" in r for r in routes) and any("<str:action>" in r for r in routes)


@pytest.mark.parametrize("route", _agent_routes())
def test_another_teams_agent_is_404_by_get_and_post(org, theirs, route):
    url = _fill(route, theirs)
    client = client_for(org["alice"])
    before = _state()
    got = client.get(url)
    assert got.status_code == 404, url
    assert b"There is nothing here you may see" in got.content
    posted = client.post(
        url,
        {
            "reason": "x",
            "understood": "on",
            "kind": "client_secret",
            "scope": org["read"].pk,
            "justification": "x",
            "resource": org["wiki"].pk,
            "allowed_actions": "read",
            "rate_window_seconds": "60",
            "budget_period": "day",
            "trust_floor": "pending",
            "version_label": "9",
            "config_digest": "sha256:" + "0" * 64,
        },
    )
    assert posted.status_code == 404, url
    assert "blue-bot" not in posted.content.decode()
    assert _state() == before


@pytest.mark.parametrize("route", _agent_routes())
def test_own_agents_routes_answer(org, route):
    """The same routes on one's own agent answer (so the 404s above are not a broken route)."""
    agent = org["ours"]
    values = {
        "slug": agent.slug,
        "grant_id": str(f.ScopeGrantFactory(agent=agent, scope=org["read"]).pk),
        "connection_id": str(f.ConnectionFactory(agent=agent, resource=org["ledger"]).pk),
        "credential_id": credential_issue(agent=agent, by="system").credential.pk,
        "configuration_id": str(_observed(agent).pk),
        "action": "suspend",
    }
    assert client_for(org["alice"]).get(_fill(route, values)).status_code == 200
