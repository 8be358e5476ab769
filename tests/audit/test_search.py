"""Search, visibility, timelines, summaries in words, exports, checkpoints API, portal page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit import chain
from audit.models import AuditEntry
from audit.services import checkpoint_create, record
from tests import factories as f

pytestmark = pytest.mark.django_db

SATURDAY = dt.datetime(2025, 11, 29, 9, 0, tzinfo=dt.UTC)


def _entry(**kwargs) -> AuditEntry:
    when = kwargs.pop("at", None)
    entry = record(**kwargs)
    if when is not None:
        # Only the test backdates: created_at is set before the sequencer ever sees the row.
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only"
                )
            cursor.execute(
                "UPDATE audit_auditentry SET created_at = %s WHERE id = %s", [when, entry.pk]
            )
            if connection.vendor == "postgresql":
                cursor.execute(
                    "ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only"
                )
    return entry


@pytest.fixture
def world():
    team_a, team_b = f.TeamFactory(slug="finance"), f.TeamFactory(slug="sales")
    recon = f.AgentFactory(slug="invoice-reconciler", owner_team=team_a)
    f.AgentFactory(slug="lead-scorer", owner_team=team_b)
    for i in range(5):
        _entry(
            actor="agent:invoice-reconciler",
            action="decision.allow",
            resource="customer_records",
            workflow_run="workflow:monthly-close-2025-11",
            token_jti=f"jti-{i}",
            at=SATURDAY + dt.timedelta(minutes=i),
        )
    _entry(
        actor="agent:invoice-reconciler",
        action="decision.deny",
        outcome="denied",
        resource="payroll",
        at=SATURDAY + dt.timedelta(days=1),
    )
    _entry(actor="user:alice", action="agent.suspend", resource="agent:invoice-reconciler")
    _entry(actor="agent:lead-scorer", action="decision.allow", resource="crm", at=SATURDAY)
    return {
        "member_a": f.team_member(team_a, username="member-a"),
        "member_b": f.team_member(team_b, username="member-b"),
        "reviewer": f.security_reviewer(username="rev"),
        "admin": f.platform_admin(username="adm"),
        "norole": f.UserFactory(username="nobody"),
        "recon": recon,
    }


def _get(client, who, url, params=None):
    if who is not None:
        client.force_login(who)
    return client.get(url, params or {})


@pytest.mark.parametrize(
    ("who", "count", "suspend"),
    [
        ("anon", None, None),
        ("norole", 0, 0),
        ("member_b", 1, 0),
        ("member_a", 6, 1),
        ("reviewer", 7, 1),
        ("admin", 7, 1),
    ],
)
def test_visibility_matrix(client, world, who, count, suspend):
    url = "/api/v1/audit/entries/"
    response = _get(client, world.get(who), url, {"action": "decision.*"})
    if count is None:
        assert response.status_code in (401, 403)
        return
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == count
    if who == "member_b":
        assert {e["actor"] for e in body["results"]} == {"agent:lead-scorer"}
    # The human's action on the team's agent is about that agent, so its team sees it.
    assert _get(client, None, url, {"action": "agent.suspend"}).json()["count"] == suspend


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agent": "invoice-reconciler"}, 7),
        ({"agent": "invoice-reconciler", "outcome": "denied"}, 1),
        ({"user": "alice"}, 1),
        ({"resource": "customer_records"}, 5),
        ({"action": "decision.*"}, 7),
        ({"action": "decision.deny"}, 1),
        ({"workflow_run": "workflow:monthly-close-2025-11"}, 5),
        ({"token": "jti-3"}, 1),
        ({"since": "2025-11-29T00:00:00Z", "until": "2025-11-30T00:00:00Z"}, 6),
    ],
)
def test_filters(client, world, params, expected):
    response = _get(client, world["reviewer"], "/api/v1/audit/entries/", params)
    assert response.status_code == 200
    assert response.json()["count"] == expected


def test_bad_filter_is_a_400_not_a_500(client, world):
    response = _get(client, world["reviewer"], "/api/v1/audit/entries/", {"since": "yesterday"})
    assert response.status_code == 400
    response = _get(client, world["reviewer"], "/api/v1/audit/summaries/", {"outcome": "maybe"})
    assert response.status_code == 400


def test_ordering_and_pagination(client, world):
    params = {"ordering": "created_at", "limit": 2, "action": "decision.*"}
    body = _get(client, world["reviewer"], "/api/v1/audit/entries/", params).json()
    assert body["count"] == 7 and len(body["results"]) == 2 and body["next"]
    times = [e["created_at"] for e in body["results"]]
    assert times == sorted(times)


def test_timeline_is_per_agent_and_respects_teams(client, world):
    url = "/api/v1/audit/agents/invoice-reconciler/timeline/"
    response = _get(client, world["member_a"], url)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 7
    assert [e["created_at"] for e in results] == sorted(e["created_at"] for e in results)
    assert results[-1]["action"] == "agent.suspend"
    other = _get(client, world["member_b"], url)
    assert other.status_code == 404


def test_summaries_in_words(client, world):
    response = _get(client, world["reviewer"], "/api/v1/audit/summaries/")
    assert response.status_code == 200
    top = response.json()[0]
    assert top["count"] == 5
    assert top["text"] == (
        "agent:invoice-reconciler accessed customer_records 5 times on Saturday 2025-11-29 "
        "(decision.allow), triggered by workflow:monthly-close-2025-11"
    )
    scoped = _get(client, world["member_b"], "/api/v1/audit/summaries/").json()
    assert {s["actor"] for s in scoped} <= {"agent:lead-scorer", "system"}
    assert "agent:lead-scorer" in {s["actor"] for s in scoped}
    assert all("invoice-reconciler" not in s["text"] for s in scoped)


def test_summaries_are_one_grouped_query(world):
    from audit.selectors import entries_visible, summaries

    with CaptureQueriesContext(connection) as queries:
        rows = summaries(entries_visible(None))
    assert len(queries) == 1
    assert "GROUP BY" in queries[0]["sql"].upper()
    assert sum(r["count"] for r in rows) == AuditEntry.objects.count()


def test_query_count_is_flat(client, world):
    client.force_login(world["member_a"])
    with CaptureQueriesContext(connection) as few:
        body = client.get("/api/v1/audit/entries/", {"action": "decision.*"}).json()
        assert body["count"] == 6
    for i in range(30):
        _entry(actor="agent:invoice-reconciler", action="decision.allow", resource=f"r{i}")
    with CaptureQueriesContext(connection) as many:
        body = client.get("/api/v1/audit/entries/", {"action": "decision.*"}).json()
        assert body["count"] == 36
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as portal:
        assert client.get("/portal/audit/").status_code == 200
    assert len(portal) <= len(few) + 3


def test_exports_stream_csv_and_jsonl(client, world):
    client.force_login(world["member_b"])
    _entry(actor="agent:lead-scorer", action="decision.allow", resource="=HYPERLINK(1)")
    response = client.get("/api/v1/audit/entries/export.csv", {"action": "decision.*"})
    assert response.status_code == 200 and response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["resource"] for r in rows] == ["crm", "'=HYPERLINK(1)"]
    response = client.get("/api/v1/audit/entries/export.jsonl", {"resource": "crm"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["actor"] for line in lines] == ["agent:lead-scorer"]
    assert client.get("/api/v1/audit/entries/export.xml").status_code == 404


def test_checkpoints_are_public(client, world, signing_key):
    assert client.get("/api/v1/audit/checkpoints/latest").status_code == 404
    chain.sequence_pending()
    checkpoint_create(signer=signing_key.sign)
    response = client.get("/api/v1/audit/checkpoints/latest")
    assert response.status_code == 200
    body = response.json()
    assert body["seq"] == AuditEntry.objects.count() and body["jws"].count(".") == 2
    assert client.get("/api/v1/audit/checkpoints/").json()["count"] == 1


def test_portal_page(client, world):
    assert client.get("/portal/audit/").status_code == 302  # to the login page
    response = _get(client, world["member_a"], "/portal/audit/", {"agent": "invoice-reconciler"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Timeline of agent:invoice-reconciler" in page
    assert "accessed customer_records 5 times on Saturday 2025-11-29" in page
    assert "lead-scorer" not in page
    assert "export.csv?agent=invoice-reconciler" in page
    bad = _get(client, world["member_a"], "/portal/audit/", {"since": "not a time"})
    assert bad.status_code == 400
