"""The hardening tests' "changed nothing" sees any change of content, on the database in use:
a change of one column of one row, whatever its type, moves that table's digest and no other,
and undoing it brings the digest back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from agents.models import Agent, ApiToken, Connection, WorkflowRun
from agents.services.api_tokens import api_token_create
from audit.models import AuditEntry
from audit.services import record
from governance.decisions.models import Epoch
from tests import factories as f
from trust.models import TrustPolicy

from .state import AUDIT_SUCCESSES, BOOKKEEPING, PACKAGES, changed, table_state, tables

pytestmark = pytest.mark.django_db


def test_a_change_that_keeps_the_counts_is_still_a_change():
    agent = f.AgentFactory()
    before = table_state()
    assert changed(before, table_state()) == {}
    Agent.objects.filter(pk=agent.pk).update(display_name="taken over")
    assert "agents.Agent" in changed(before, table_state())


def test_every_app_of_ours_is_watched():
    labels = {label.split(".")[0] for label in table_state()}
    assert {"agents", "credentials", "trust", "audit", "decisions", "approvals"} <= labels
    assert {"reviews", "grants"} <= labels  # missing from the hand-kept list this replaced


def test_every_column_of_every_table_of_ours_is_read():
    """From the database's own catalogue, not the models: a table or a column that a migration
    adds, or that raw SQL created, and that the snapshot does not read, fails here."""
    from django.apps import apps

    labels = {c.label for c in apps.get_app_configs() if c.name.split(".")[0] in PACKAGES}
    read = {t.name: t for t in tables()}
    assert len(read) == len(tables())  # no table read twice (a proxy has none of its own)
    left_out = {}
    with connection.cursor() as cursor:
        for name in connection.introspection.table_names(cursor):
            if not any(name.startswith(f"{label}_") for label in labels):
                continue
            columns = {c.name for c in connection.introspection.get_table_description(cursor, name)}
            missing = columns - set(read[name].columns) if name in read else columns
            if missing:
                left_out[name] = missing
    assert left_out == {ApiToken._meta.db_table: {"last_used_at"}}
    assert {"agents.ApiToken": {"last_used_at"}} == BOOKKEEPING  # the one exclusion, on purpose
    assert "agents.WorkflowRun_participants" in {t.key for t in tables()}  # a many-to-many table


NOW = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)


@pytest.fixture
def rows():
    """One row of each kind the changes below touch, with a value in every column they change."""
    agent = f.AgentFactory(trust_updated_at=NOW)
    conn = f.ConnectionFactory(
        agent=agent,
        allowed_actions=["read", "write"],
        rate_limit=10,
        budget_cap=Decimal("12.5000"),
        log_only_rules=[{"action": "write", "when": {"cost": 1}}],
    )
    run = f.WorkflowRunFactory(participants=[agent])
    token, _ = api_token_create(user=f.UserFactory(), name="script")
    policy = TrustPolicy.objects.order_by("-version").first() or TrustPolicy.objects.create(
        version=1
    )
    return {
        Agent: agent,
        Connection: conn,
        WorkflowRun.participants.through: run.participants.through.objects.get(workflowrun=run),
        ApiToken: token,
        TrustPolicy: policy,
        "other agent": f.AgentFactory(),
    }


# (what changes, model, field, the new value or how to get it from the old and the rows)
CHANGES = [
    ("a text column", Agent, "display_name", "taken over"),
    ("a text column by its case", Agent, "slug", lambda old, rows: old.upper()),
    ("a nullable datetime to NULL", Agent, "trust_updated_at", None),
    (
        "a datetime by one microsecond",
        Agent,
        "trust_updated_at",
        NOW + dt.timedelta(microseconds=1),
    ),
    ("an integer", Agent, "trust_score", 1),
    ("a json list, one item", Connection, "allowed_actions", ["read", "delete"]),
    ("a json list, its order", Connection, "allowed_actions", ["write", "read"]),
    (
        "a json object, deep inside",
        Connection,
        "log_only_rules",
        [{"action": "write", "when": {"cost": 2}}],
    ),
    ("a json column to an empty list", Connection, "allowed_actions", []),
    ("a nullable integer to NULL", Connection, "rate_limit", None),
    ("a nullable decimal to NULL", Connection, "budget_cap", None),
    ("a decimal in its last place", Connection, "budget_cap", Decimal("12.5001")),
    (
        "a float in its last bit",
        TrustPolicy,
        "denial_rate_max",
        lambda old, rows: old + old * 2**-52,
    ),
    ("a boolean", TrustPolicy, "cap_config_drift", lambda old, rows: not old),
    ("a foreign key", Connection, "agent", lambda old, rows: rows["other agent"]),
    (
        "a row of a many-to-many table",
        WorkflowRun.participants.through,
        "agent",
        lambda old, rows: rows["other agent"],
    ),
    ("an API token's revocation", ApiToken, "revoked_at", NOW),
]


@pytest.mark.parametrize(("what", "model", "field", "new"), CHANGES, ids=[c[0] for c in CHANGES])
def test_one_column_of_one_row_moves_its_tables_digest(rows, what, model, field, new):
    row = rows[model]
    old = getattr(row, field)
    if callable(new):
        new = new(old, rows)
    assert new != old
    before = table_state()
    assert model.objects.filter(pk=row.pk).update(**{field: new}) == 1
    after = table_state()
    key = model._meta.label
    # The revocation epoch's triggers move it when a column it watches changes: the database's
    # own answer to the change, seen too.
    assert set(changed(before, after)) - {Epoch._meta.label} == {key}
    assert after[key][0] == before[key][0]  # the same rows: only their content tells
    model.objects.filter(pk=row.pk).update(**{field: old})
    assert table_state()[key] == before[key]  # the content, not the history of writes


def test_values_cannot_run_into_each_other(rows):
    """The same characters split differently between two columns is a different row."""
    agent = Agent.objects.filter(pk=rows[Agent].pk)
    agent.update(display_name="a,b", purpose="c")
    one = table_state()["agents.Agent"]
    agent.update(display_name="a", purpose="b,c")
    other = table_state()["agents.Agent"]
    agent.update(display_name="a',b", purpose="c")
    third = table_state()["agents.Agent"]
    agent.update(display_name="a", purpose="',b,c")
    assert len({one, other, third, table_state()["agents.Agent"]}) == 4


def test_a_row_added_to_a_many_to_many_table_is_a_change(rows):
    before = table_state()
    run = rows[WorkflowRun.participants.through].workflowrun
    run.participants.add(rows["other agent"])
    assert set(changed(before, table_state())) == {"agents.WorkflowRun_participants"}


def test_an_api_tokens_last_use_is_bookkeeping(rows):
    before = table_state()
    ApiToken.objects.filter(pk=rows[ApiToken].pk).update(last_used_at=NOW)
    assert table_state() == before


def test_of_the_audit_log_only_successes_count(rows):
    before = table_state()
    record(actor="agent:x", action="test.refused", outcome=AuditEntry.Outcome.DENIED)
    record(actor="agent:x", action="test.failed", outcome=AuditEntry.Outcome.FAILURE)
    assert AUDIT_SUCCESSES not in changed(before, table_state())
    record(actor="agent:x", action="test.done", outcome=AuditEntry.Outcome.SUCCESS)
    assert AUDIT_SUCCESSES in changed(before, table_state())
