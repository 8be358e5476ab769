"""Fuzzing the whole OpenAPI schema with schemathesis (issue 13, "Fuzzing in CI").

Every operation of ``/api/schema/`` — the management API, the decision point, self-rotation and
the OAuth endpoints — gets a bounded number of generated requests, as a platform admin and as a
member of one team (personal API tokens), straight into the WSGI app on the test database.
For each response: no 5xx; the status code, content type, headers and body conform to the
schema; and a rejected request (4xx) changes nothing — no row of any of our tables appears,
changes count or disappears, and the audit log gains at most the entry recording the refusal.
Path parameters name real objects (ours and another team's) half of the time, so the checks
reach past the 404s. The counts are printed (``-s`` shows them).
"""

from __future__ import annotations

import collections
import os

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agents.models import Agent, ApiToken, Scope, WorkflowRun
from agents.services import api_token_create
from tests.security.state import changed, table_state

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))  # per operation and role
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _candidates(org) -> dict[str, list]:
    """Real values for path parameters, by name: ours, another team's, and what exists."""
    run = WorkflowRun.objects.first()
    return {
        "slug": ["red-bot", "blue-bot", "red", "blue", "ledger", run.workflow.slug],
        "id": sorted({1, 2, *Agent.objects.values_list("pk", flat=True)}),
        "name": list(Scope.objects.values_list("name", flat=True)),
        "run_id": [run.run_id],
        "pk": [1, 2],
        "fmt": ["jsonl", "csv", "json"],
    }


def _fuzz(schema, headers: dict[str, str], candidates: dict[str, list]) -> dict[str, object]:
    stats: dict[str, object] = {"operations": 0, "cases": 0, "failures": []}
    statuses: collections.Counter = collections.Counter()
    for result in schema.get_all_operations():
        _fuzz_operation(result.ok(), headers, candidates, stats, statuses)
    stats["statuses"] = dict(statuses)
    return stats


def _fuzz_operation(operation, headers, candidates, stats, statuses) -> None:
    """A bounded run of one operation; a failure is collected, not raised."""
    stats["operations"] += 1
    # The tables as the previous case left them, when it was refused (and so changed nothing):
    # the next case starts from there instead of taking a snapshot of its own.
    unchanged: dict[str, dict] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), data=st.data())
    def run(case, data):
        for name in list(case.path_parameters or {}):
            values = candidates.get(name)
            if "/tokens/" in operation.path and name == "id":
                values = candidates["token_id"]  # never the fuzzer's own token
            if values and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(values))
        before = unchanged.pop("state", None) or table_state()
        response = case.call(headers=headers)
        stats["cases"] += 1
        statuses[f"{response.status_code // 100}xx"] += 1
        case.validate_response(response, checks=CHECKS)
        if 400 <= response.status_code < 500:
            after = table_state()
            assert after == before, (
                f"{operation.label}: rejected with {response.status_code} but changed "
                f"{changed(before, after)}"
            )
            unchanged["state"] = after

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # collect each operation's failure
        stats["failures"].append(f"{operation.label}: {str(exc)[:3000]}")


@pytest.fixture
def wsgi_app():
    """The WSGI app on the test's own connection, as Django's test client runs it.

    A bare ``WSGIHandler`` closes the connection at the end of each request when it is not in
    autocommit, which it never is inside a test's transaction: on PostgreSQL every later query
    would meet a closed connection (SQLite's in-memory database ignores the close).
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", ["platform admin", "team member"])
def test_the_whole_schema_as(role, fuzz_org, wsgi_app):
    user = fuzz_org["root"] if role == "platform admin" else fuzz_org["alice"]
    others = [api_token_create(user=user, name=f"spare-{i}")[0].pk for i in range(2)]
    _token, raw = api_token_create(user=user, name="fuzz")
    candidates = {**_candidates(fuzz_org), "token_id": others}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    stats = _fuzz(schema, {"Authorization": f"Bearer {raw}"}, candidates)
    print(
        f"\nschemathesis as {role}: {stats['operations']} operations, {stats['cases']} cases, "
        f"statuses {stats['statuses']}, {len(stats['failures'])} failing operations"
    )
    for failure in stats["failures"]:
        print(failure, end="\n\n")
    assert stats["cases"] >= stats["operations"]
    assert not stats["failures"], f"{len(stats['failures'])} failing operations: see above"
    assert ApiToken.objects.filter(pk=_token.pk, revoked_at=None).exists()  # fuzzed to the end
