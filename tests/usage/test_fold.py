"""The aggregator: what it counts, once, from the sequenced audit log; crashes and rebuilds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import DatabaseError

from audit.chain import sequence_pending
from tests import factories as f
from tests.db import statements_refused
from trust.usage import tasks
from trust.usage.fold import usage_fold, usage_fold_batch, usage_rebuild
from trust.usage.models import UsageHour, UsageTotal, UsageWatermark

from .history import History

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
COUNTERS = ("allowed", "denied", "pending", "issued", "refused", "auth_failed")


def facts() -> dict[tuple, tuple]:
    """Every hourly counter row, as comparable tuples."""
    return {
        (row.hour, row.agent_id, row.resource, row.action, row.credential_id): tuple(
            getattr(row, name) for name in COUNTERS
        )
        for row in UsageHour.objects.all()
    }


def totals() -> dict[tuple, tuple]:
    return {
        (row.agent_id, row.resource, row.action, row.credential_id): (
            row.first_at,
            row.last_at,
            row.last_used_at,
        )
        for row in UsageTotal.objects.all()
    }


def counted(agent, **key) -> dict[str, int]:
    rows = UsageHour.objects.filter(agent=agent, **key)
    return {name: sum(getattr(row, name) for row in rows) for name in COUNTERS}


def busy_history(agent, other):
    h = History()
    h.decision(agent, T0, times=3)
    h.decision(agent, T0 + dt.timedelta(minutes=59), action="write", decision="deny")
    h.decision(agent, T0 + dt.timedelta(hours=1), decision="approval_required", credential=8)
    h.token(agent, T0 + dt.timedelta(minutes=5), times=2)
    h.refused(agent, T0 + dt.timedelta(minutes=6))
    h.failed_auth(agent.slug, T0 + dt.timedelta(minutes=7), credential=7, times=4)
    h.decision(other, T0 + dt.timedelta(hours=2), resource="payments", action="pay")
    return h


def test_counts_each_kind_of_event_per_hour_resource_action_and_credential():
    agent, other = f.AgentFactory(), f.AgentFactory()
    busy_history(agent, other).write()

    result = usage_fold()

    assert result.entries == 13 and result.position == 13
    assert facts() == {
        (T0, agent.pk, "customer-records", "read", "7"): (3, 0, 0, 0, 0, 0),
        (T0, agent.pk, "customer-records", "write", "7"): (0, 1, 0, 0, 0, 0),
        (T0 + dt.timedelta(hours=1), agent.pk, "customer-records", "read", "8"): (0, 0, 1, 0, 0, 0),
        (T0, agent.pk, "", "", "7"): (0, 0, 0, 2, 1, 4),
        (T0 + dt.timedelta(hours=2), other.pk, "payments", "pay", "7"): (1, 0, 0, 0, 0, 0),
    }
    total = UsageTotal.objects.get(
        agent=agent, resource="customer-records", action="read", credential_id=7
    )
    assert (total.first_at, total.last_at, total.last_used_at) == (T0, T0, T0)
    denied = UsageTotal.objects.get(agent=agent, action="write")
    assert denied.last_used_at is None  # a denial is not a use
    mark = UsageWatermark.objects.get(name="usage")
    assert mark.through == T0 + dt.timedelta(hours=2)


def test_folds_only_past_the_watermark_and_a_rerun_adds_nothing():
    agent, other = f.AgentFactory(), f.AgentFactory()
    busy_history(agent, other).write()
    assert usage_fold(batch_size=4).batches == 4  # 13 entries in batches of 4
    once = facts()
    assert usage_fold().entries == 0
    assert facts() == once

    History().decision(agent, T0 + dt.timedelta(minutes=30), times=2).write()
    assert usage_fold().entries == 2
    assert counted(agent, action="read", credential_id="7")["allowed"] == 5


def test_skips_what_is_not_an_agents_usage():
    agent = f.AgentFactory()
    h = History()
    h.other("resource:ledger", "token.refuse", T0, outcome="denied", credential_id="3")
    h.other("anonymous", "client.authenticate", T0, outcome="failure", resource="client:nobody")
    h.other("anonymous", "client.authenticate", T0, outcome="failure", resource="")
    h.other("user:alice", "agent.suspend", T0, resource=agent.principal)
    h.other(agent.principal, "token.introspect", T0)
    h.other("unknown", "decision", T0, outcome="denied", resource="ledger")
    h.other(agent.principal, "token.issue", T0, outcome="failure")
    h.decision(agent, T0)
    h.write()
    assert usage_fold().entries == 8  # every seq is consumed, usage or not
    assert facts() == {(T0, agent.pk, "customer-records", "read", "7"): (1, 0, 0, 0, 0, 0)}


def test_an_entry_that_commits_late_is_counted_in_the_hour_it_was_written():
    agent = f.AgentFactory()
    History().decision(agent, T0 + dt.timedelta(hours=3)).write()
    usage_fold()
    History().decision(agent, T0).write()  # written at T0, sequenced after a later one
    usage_fold()
    assert counted(agent, hour=T0)["allowed"] == 1
    assert counted(agent, hour=T0 + dt.timedelta(hours=3))["allowed"] == 1
    total = UsageTotal.objects.get(agent=agent)
    assert (total.first_at, total.last_at) == (T0, T0 + dt.timedelta(hours=3))


def test_a_batch_that_fails_before_its_watermark_moves_leaves_nothing_behind():
    agent, other = f.AgentFactory(), f.AgentFactory()
    busy_history(agent, other).write()
    assert usage_fold_batch(batch_size=5) == 5
    after_first = facts(), totals()

    with statements_refused("trust_usagewatermark", on="UPDATE"):
        with pytest.raises(DatabaseError):
            usage_fold_batch(batch_size=5)  # counters written, then the watermark refuses
        assert (facts(), totals()) == after_first  # the whole batch rolled back
        assert UsageWatermark.objects.get(name="usage").position == 5

    assert usage_fold(batch_size=5).entries == 8
    resumed = facts(), totals()
    usage_rebuild()  # from nothing, in one go
    assert (facts(), totals()) == resumed
    assert counted(agent, action="read", credential_id="7")["allowed"] == 3


def test_rebuild_gives_the_same_facts_as_folding_incrementally():
    agent, other = f.AgentFactory(), f.AgentFactory()
    busy_history(agent, other).write()
    usage_fold(batch_size=2)
    History().decision(agent, T0 + dt.timedelta(days=1)).write()
    usage_fold(batch_size=3)
    incremental = facts(), totals()
    UsageHour.objects.filter(agent=agent).update(allowed=999)  # facts gone wrong somehow

    result = usage_rebuild()

    assert result.entries == 14 and result.position == 14
    assert (facts(), totals()) == incremental


def test_the_beat_task_and_the_command_fold(capsys):
    agent = f.AgentFactory()
    History().decision(agent, T0, times=3).write()
    assert tasks.fold_usage()["entries"] == 3
    History().decision(agent, T0, times=2).write()
    call_command("usage", "fold", "--batch-size", "1")
    assert "folded 2 entries in 2 batches" in capsys.readouterr().out
    assert counted(agent)["allowed"] == 5
    call_command("usage", "status", "--json")
    assert '"folded_through_seq": 5' in capsys.readouterr().out


def test_the_fold_does_not_see_entries_before_they_are_sequenced():
    agent = f.AgentFactory()
    History().decision(agent, T0).write()
    h = History().decision(agent, T0)
    from audit.models import AuditEntry

    AuditEntry.objects.bulk_create(h.entries)  # written, not chained yet
    assert usage_fold().entries == 1
    sequence_pending()
    assert usage_fold().entries == 1
    assert counted(agent)["allowed"] == 2
