"""The isolation matrix (issue 13, Deliver): every route of the URL conf — API, portal, OAuth,
schema and every admin page — asked by every role, for team A's objects, against the rule in
``isolation_rules.py``.

For each route: a GET by each role is allowed or refused as the rule says; an unsafe request
(POST, and PATCH/PUT/DELETE where the route has them) by a role the rule does not let change it
is refused and changes nothing (``state.table_state``), and by a role it does let, is not
refused. "Refused" is 401, 403, 404 or a redirect to a sign-in page; 405 means the method does
not exist there. A route with no rule fails with the line to add. Whatever a rule says, another
team's member, an agent's token and anonymous reach team A's objects through no route that is
not marked ``public`` (documents anyone may read, endpoints that authenticate their callers by
their own means: OAuth clients, sign-in).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.views.generic import RedirectView

from tests.routes import Route, all_routes

from .isolation_rules import RULES, Rule, params_for
from .isolation_world import ROLES, build_world, client_for
from .state import changed, table_state

OUTSIDERS = ("other", "agent", "anon")
# The fields our serializers, forms and actions change most, each set to a takeover.
ATTEMPT = {
    "display_name": "taken over",
    "description": "taken over",
    "name": "taken-over",
    "reason": "taken over by the matrix",
    "justification": "taken over by the matrix",
    "comment": "taken over",
    "status": "suspended",
    "level": "trusted",
    "decision": "approve",
    "owner_team": "b",
    "members": [],
}
ROUTES = all_routes()


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(_module_world, db):
    return _module_world


def outcome(response, method: str = "GET") -> str:
    status = response.status_code
    if status == 405:
        return "n/a"
    if status in (401, 403, 404):
        return "refused"
    if status in (301, 302, 303):
        location = response.get("Location", "")
        # The admin answers an object outside one's view with a redirect to its index.
        if "login" in location or location.rstrip("/").endswith("/admin"):
            return "refused"
        return "n/a" if method == "GET" else "allowed"
    return "allowed"


OBJECT_PARAMS = {"slug", "pk", "name", "run_id", "object_id"}


def _names_an_object(template: str) -> bool:
    params = {p.split(":")[-1] for p in re.findall(r"<([^>]+)>", template)}
    return bool(params & OBJECT_PARAMS or any(p.endswith("_id") for p in params))


def _methods(route: Route) -> list[str]:
    if route.actions:
        return [m.upper() for m in route.actions if m not in ("get", "head", "options")]
    return ["POST"]


def _attempt(client, method: str, url: str):
    """``ATTEMPT`` as JSON to the API, as a form everywhere else (the portal, the admin, OAuth)."""
    if url.startswith("/api/"):
        return client.generic(method, url, json.dumps(ATTEMPT), content_type="application/json")
    form = urlencode(ATTEMPT, doseq=True)
    return client.generic(method, url, form, content_type="application/x-www-form-urlencoded")


def test_every_route_has_a_rule():
    missing = [r.template for r in ROUTES if r.template not in RULES]
    assert not missing, (
        "Routes without an isolation rule. Add one line per route to "
        "tests/security/isolation_rules.py (see its docstring), e.g.\n"
        + "\n".join(
            f'    "{t}": R(read="admin reviewer manager", change="admin manager"),' for t in missing
        )
    )


def test_only_public_routes_let_outsiders_at_an_object():
    """Another team's member, an agent's token and anonymous reach team A's objects through no
    route, whatever a rule says, unless the route is public by design (and marked so).
    (Collections answer everyone with their own part: test_api_matrix checks the contents.)"""
    leaky = {
        t: sorted((r.readers | r.changers) & set(OUTSIDERS))
        for t, r in RULES.items()
        if _names_an_object(t) and not r.public and (r.readers | r.changers) & set(OUTSIDERS)
    }
    assert not leaky


# The admin's shortcut redirect by content type names no object of its own. Every other route
# with an object in its path is asked about a real one: a placeholder answers 404 to everyone,
# which proves nothing.
NAMES_NOTHING = {"admin/r/<path:content_type_id>/<path:object_id>/"}


def test_every_route_that_names_an_object_names_a_real_one(world):
    """Each route with an object in its path is filled with one of the world's objects (or, for
    the admin, a real row): none is asked about a placeholder, except ``NAMES_NOTHING``."""
    placeholders = {
        route.template
        for route in ROUTES
        if _names_an_object(route.template)
        and route.view_class is not RedirectView
        and any(v in ("none", 0) for v in params_for(route, world).values())
    }
    assert placeholders == NAMES_NOTHING


def test_no_rule_names_a_route_that_is_gone():
    known = {r.template for r in ROUTES}
    assert not [t for t in RULES if t not in known]


@pytest.mark.parametrize("route", ROUTES, ids=[r.template or "/" for r in ROUTES])
def test_route(world, route):
    rule: Rule | None = RULES.get(route.template)
    if route.view_class is RedirectView:
        return  # the admin's <object_id>/ only redirects to the change page, which is asked
    if rule is None:
        pytest.fail(f"no isolation rule for {route.template!r}: see test_every_route_has_a_rule")
    url = route.url(**params_for(route, world))
    problems = []
    for role in ROLES:
        got = outcome(client_for(world, role).get(url))
        want = "allowed" if role in rule.readers else "refused"
        if got not in (want, "n/a"):
            problems.append(f"GET {url} as {role}: {got}, rule says {want}")
    # Refused roles first, so an allowed change cannot alter what they are asked about. Each
    # refused request must leave the tables as the one before it left them: one snapshot per
    # request (the snapshot after one is the state the next starts from), not two.
    before = None
    for role in sorted(ROLES, key=lambda r: r in rule.changers):
        minted = world["agent_token"]
        client = client_for(world, role)
        if world["agent_token"] is not minted:
            # A fresh agent token was issued (and audited, and the credential's last use
            # noted) between two requests asked about: the next snapshot starts after it.
            before = None
        for method in _methods(route):
            if role in rule.changers:
                if route.template.startswith("admin/"):
                    continue  # the admin's own tests change through it; here only refusals
                # Each allowed change is undone, so a DELETE does not decide the next answer.
                savepoint = transaction.savepoint()
                response = _attempt(client, method, url)
                transaction.savepoint_rollback(savepoint)
                if outcome(response, method) == "refused" and not rule.public:
                    problems.append(f"{method} {url} as {role}: refused, rule says allowed")
                continue
            before = before or table_state()
            response = _attempt(client, method, url)
            after = table_state()
            if outcome(response, method) not in ("refused", "n/a"):
                problems.append(f"{method} {url} as {role}: {response.status_code}, not refused")
            if changed(before, after):
                problems.append(f"{method} {url} as {role} changed {changed(before, after)}")
            before = after
    assert not problems, "\n".join(problems)
