"""Evidence of use for access reviews, from the real endpoints' audit entries to the selector."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.chain import sequence_pending
from credentials.services import credential_issue
from tests import factories as f
from tests.decisions.conftest import make_world
from trust.usage.fold import usage_fold
from trust.usage.selectors import NEVER, usage_evidence

from .history import History

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_the_endpoints_audit_what_the_fold_reads(client):
    cache.clear()  # the per-process caches are forgotten for every test (tests/conftest.py)
    world = make_world(actions=("read", "write", "delete"), granted=("read", "write"))
    issued = credential_issue(agent=world.agent, by="system")
    secret = issued.secret
    form = "application/x-www-form-urlencoded"
    auth = _basic(world.agent.slug, secret)
    token = client.post(
        "/oauth/token", "grant_type=client_credentials", content_type=form, HTTP_AUTHORIZATION=auth
    ).json()["access_token"]
    wrong = _basic(world.agent.slug, secret[:-2] + "xx")
    refused = client.post(
        "/oauth/token", "grant_type=client_credentials", content_type=form, HTTP_AUTHORIZATION=wrong
    )
    assert refused.status_code == 401
    assert world.decide(client, token=token, action="read").json()["decision"] == "allow"
    assert world.decide(client, token=token, action="read").json()["decision"] == "allow"
    assert world.decide(client, token=token, action="delete").json()["decision"] == "deny"
    sequence_pending()

    usage_fold()
    evidence = usage_evidence(agent_ids=[world.agent.pk])

    agent, resource, cred = world.agent.pk, world.resource.slug, issued.credential.pk
    read = evidence.grant(agent, f"{resource}:read")
    assert (read.uses_30d, read.uses_90d) == (2, 2) and read.last_used_at is not None
    assert evidence.grant(agent, f"{resource}:write") == NEVER
    assert evidence.grant(agent, f"{resource}:delete").uses_90d == 0  # denied: not a use
    assert evidence.connection(agent, resource).uses_30d == 2
    assert evidence.credential(cred).uses_30d == 1  # the token it authenticated for
    assert evidence.as_of is not None

    from trust.usage.models import UsageHour

    rows = UsageHour.objects.filter(agent=world.agent)
    assert sum(r.denied for r in rows) == 1
    assert sum(r.auth_failed for r in rows) == 1
    assert sum(r.issued for r in rows) == 1


def test_last_use_and_the_30_and_90_day_windows():
    agent = f.AgentFactory()
    h = History()
    h.decision(agent, NOW - dt.timedelta(days=200), action="export")  # older than 90 days
    h.decision(agent, NOW - dt.timedelta(days=60), times=4)
    h.decision(agent, NOW - dt.timedelta(days=10), times=3)
    h.decision(agent, NOW - dt.timedelta(days=1), decision="deny", times=5)
    h.decision(agent, NOW - dt.timedelta(days=2), resource="payments", action="pay")
    h.token(agent, NOW - dt.timedelta(days=40), credential=11, times=2)
    h.token(agent, NOW - dt.timedelta(days=5), credential=12)
    h.failed_auth(agent.slug, NOW - dt.timedelta(days=3), credential=12)
    h.write()
    usage_fold()

    ev = usage_evidence(agent_ids=[agent.pk], now=NOW)

    read = ev.grant(agent.pk, "customer-records:read")
    assert (read.uses_30d, read.uses_90d) == (3, 7)
    assert read.last_used_at == NOW - dt.timedelta(days=10)
    export = ev.grant(agent.pk, "customer-records:export")
    assert (export.uses_30d, export.uses_90d) == (0, 0)
    assert export.last_used_at == NOW - dt.timedelta(days=200)  # last use survives the window
    assert export.unused_for_days(NOW) == 200
    records = ev.connection(agent.pk, "customer-records")
    assert (records.uses_30d, records.uses_90d) == (3, 7)
    assert records.last_used_at == NOW - dt.timedelta(days=10)
    assert ev.connection(agent.pk, "payments").uses_30d == 1
    assert ev.credential(11) == type(NEVER)(NOW - dt.timedelta(days=40), 0, 2)
    assert (ev.credential(12).uses_30d, ev.credential(12).uses_90d) == (1, 1)
    assert ev.credential(99) == NEVER
    assert ev.grant(agent.pk, "ledger:read") == NEVER


@pytest.mark.parametrize("agents", [10, 100])
def test_evidence_takes_three_queries_however_many_agents(agents):
    crowd = [f.AgentFactory() for _ in range(agents)]
    h = History()
    for i, agent in enumerate(crowd):
        h.decision(agent, NOW - dt.timedelta(days=i % 80), times=2, credential=i + 1)
        h.token(agent, NOW - dt.timedelta(days=3), credential=i + 1)
    h.write()
    usage_fold()
    with CaptureQueriesContext(connection) as queries:
        ev = usage_evidence(agent_ids=[a.pk for a in crowd], now=NOW)
    assert len(queries) == 3
    assert all(ev.credential(str(i + 1)).uses_30d == 1 for i in range(agents))
    assert all(ev.grant(a.pk, "customer-records:read").uses_90d == 2 for a in crowd)


def test_the_show_command_lists_never_used_lines(capsys):
    world = make_world(actions=("read", "write"), granted=("read", "write"))
    History().decision(
        world.agent,
        dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        resource=world.resource.slug,
        credential=world.agent_credential.pk,
    ).write()
    usage_fold()
    call_command("usage", "show", world.agent.slug, "--json")
    shown = json.loads(capsys.readouterr().out)
    assert shown["grants"][f"{world.resource.slug}:read"]["uses_30d"] == 1
    assert shown["grants"][f"{world.resource.slug}:write"]["last_used_at"] is None
    assert shown["connections"][world.resource.slug]["uses_90d"] == 1
