"""Retention of the hourly usage counters: what goes, what every reader still sees, crashes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories as f
from tests.db import statements_refused
from trust.facts import load_context, load_facts
from trust.policy import current_policy
from trust.retention import trust_prune
from trust.usage.baselines import BASELINES, HOURS_PER_WEEK, baselines_update, hour_index
from trust.usage.fold import usage_fold, usage_rebuild
from trust.usage.models import UsageHour, UsageTotal, UsageWatermark
from trust.usage.prune import HOURS_PER_BATCH, PRUNE, prune_horizon, usage_prune
from trust.usage.selectors import usage_evidence

from .history import History

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(minute=30, second=0, microsecond=0)


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def _hour_rows(agent, *ages_days: float, resources: int = 1) -> None:
    UsageHour.objects.bulk_create(
        UsageHour(
            agent=agent,
            hour=days_ago(age).replace(minute=0),
            resource=f"r{i}",
            action="read",
            allowed=1,
        )
        for age in ages_days
        for i in range(resources)
    )


def _ages() -> list[int]:
    return sorted(
        round((NOW - h) / dt.timedelta(days=1))
        for h in UsageHour.objects.values_list("hour", flat=True).distinct()
    )


def _folded_baselines(at: dt.datetime) -> None:
    UsageWatermark.objects.update_or_create(
        name=BASELINES, defaults={"position": hour_index(at) - 1}
    )


def test_readers_see_the_same_before_and_after_the_prune():
    """Last use, uses in 30/90 days and the behaviour facts do not move; old hours go."""
    agent = f.AgentFactory()
    history = History()
    history.decision(agent, days_ago(120), resource="old-system", action="read", times=3)
    history.token(agent, days_ago(120), credential=9)
    history.decision(agent, days_ago(95), resource="old-system", action="write")
    history.decision(agent, days_ago(60), action="read", times=2)
    for day in range(1, 15):
        history.decision(agent, days_ago(day), action="read", times=4)
    history.decision(agent, days_ago(0.1), action="read", decision="deny")
    history.write()
    usage_fold()
    baselines_update(now=NOW)

    def readings():
        evidence = usage_evidence(agent_ids=[agent.pk], now=NOW)
        ctx = load_context(now=NOW, policy=current_policy())
        usage = load_facts([agent.pk], ctx)[agent.pk].usage
        return (
            evidence.grant(agent.pk, "old-system:read"),
            evidence.grant(agent.pk, "old-system:write"),
            evidence.grant(agent.pk, "customer-records:read"),
            evidence.connection(agent.pk, "old-system"),
            evidence.credential("9"),
            (usage.first_seen, usage.allowed, usage.denied, usage.hours, usage.slots),
            usage.resources_first_seen,
        )

    before = readings()
    assert before[0].last_used_at == days_ago(120) and before[0].uses_90d == 0
    assert before[1].uses_90d == 0 and before[2].uses_90d == 58
    totals = list(UsageTotal.objects.order_by("resource", "action", "credential_id").values())

    result = trust_prune(now=NOW)
    assert result.usage_rows == 2  # 120 days ago: the decisions' and the token's rows
    assert max(_ages()) == 95  # inside the policy's 100 days
    assert readings() == before
    assert list(UsageTotal.objects.order_by("resource", "action", "credential_id").values()) == (
        totals
    )
    assert result.usage_before == NOW.replace(minute=0) - dt.timedelta(days=100)
    assert trust_prune(now=NOW).usage_rows == 0  # idempotent


def test_nothing_goes_before_the_baselines_have_folded_it():
    agent = f.AgentFactory()
    _hour_rows(agent, 300, 200)
    assert prune_horizon(now=NOW, keep_days=100) is None
    assert trust_prune(now=NOW).usage_rows == 0
    # Baselines lagging at 150 days: the hours of the week before that stay, though older
    # than the window (the volume signal reads them against the baselines' horizon).
    _hour_rows(agent, 155)
    _folded_baselines(days_ago(150))
    assert prune_horizon(now=NOW, keep_days=100) == hour_index(days_ago(150)) - 1 - HOURS_PER_WEEK
    assert trust_prune(now=NOW).usage_rows == 2
    assert _ages() == [155]


def test_batches_walk_the_hours_and_move_the_watermark():
    agent = f.AgentFactory()
    _folded_baselines(NOW)
    hours = [101 + h / 24 for h in range(HOURS_PER_BATCH * 3 + 2)]
    _hour_rows(agent, *hours, 10)
    dry, done = usage_prune(horizon=prune_horizon(now=NOW, keep_days=100), dry_run=True)
    assert (dry, done) == (len(hours), True)
    assert UsageHour.objects.count() == len(hours) + 1
    assert not UsageWatermark.objects.filter(name=PRUNE).exists()  # a dry run moves nothing
    deleted, done = usage_prune(horizon=prune_horizon(now=NOW, keep_days=100))
    assert (deleted, done) == (len(hours), True)
    assert _ages() == [10]
    mark = UsageWatermark.objects.get(name=PRUNE)
    assert mark.position == prune_horizon(now=NOW, keep_days=100)
    # A row older than the watermark would not be seen again: the rebuild that could write one
    # starts the prune over with the facts.
    usage_rebuild()
    assert UsageWatermark.objects.get(name=PRUNE).position == 0


def test_a_batch_that_fails_before_its_watermark_moves_deletes_nothing():
    agent = f.AgentFactory()
    _folded_baselines(NOW)
    _hour_rows(agent, 130, 120, 5)
    refuse = "NEW.name = 'usage_prune'"
    with (
        statements_refused("trust_usagewatermark", on="UPDATE", when=refuse),
        pytest.raises(DatabaseError),
    ):
        trust_prune(now=NOW)
    assert _ages() == [5, 120, 130]
    assert not UsageWatermark.objects.filter(name=PRUNE).exists()
    assert trust_prune(now=NOW).usage_rows == 2
    assert _ages() == [5]


def test_a_run_out_of_time_stops_and_the_next_goes_on():
    agent = f.AgentFactory()
    _folded_baselines(NOW)
    _hour_rows(agent, 130, 5)
    horizon = prune_horizon(now=NOW, keep_days=100)
    assert usage_prune(horizon=horizon, deadline=0.0) == (0, False)
    assert usage_prune(horizon=horizon) == (1, True)


def _usage_queries(rows: int) -> tuple[int, int]:
    UsageHour.objects.all().delete()
    UsageWatermark.objects.filter(name=PRUNE).delete()
    agent = f.AgentFactory()
    _hour_rows(agent, 130, 129.9, resources=rows // 2)
    with CaptureQueriesContext(connection) as queries:
        deleted, _ = usage_prune(horizon=prune_horizon(now=NOW, keep_days=100))
    return len(queries), deleted


def test_query_count_does_not_grow_with_rows():
    _folded_baselines(NOW)
    small, large = _usage_queries(10), _usage_queries(1000)
    assert (small[1], large[1]) == (10, 1000)
    assert small[0] == large[0], (small, large)
