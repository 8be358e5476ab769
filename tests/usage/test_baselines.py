"""Baselines: weekly exponentially weighted slots, folded as hours close, judged before a sample."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from tests import factories as f
from trust.usage.baselines import (
    ALL_RESOURCES,
    ALPHA,
    Slot,
    baselines_update,
    decayed,
    expected,
    hour_index,
    hour_of_week,
    sampled,
    week_of,
)
from trust.usage.fold import usage_fold, usage_fold_batch
from trust.usage.models import UsageBaseline, UsageWatermark

from .history import History

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
TUESDAY_10 = MONDAY + dt.timedelta(days=1, hours=10)


def slot_of(agent, resource: str, moment: dt.datetime) -> Slot | None:
    row = UsageBaseline.objects.filter(
        agent=agent, resource=resource, hour_of_week=hour_of_week(hour_index(moment))
    ).first()
    if row is None:
        return None
    return Slot(row.mean, row.mean_sq, row.week, row.prev_mean, row.prev_mean_sq, row.prev_week)


def test_hours_of_the_week_start_on_monday_utc():
    assert hour_of_week(hour_index(MONDAY)) == 0
    assert hour_of_week(hour_index(TUESDAY_10)) == 34
    assert hour_of_week(hour_index(MONDAY - dt.timedelta(hours=1))) == 167
    assert week_of(hour_index(MONDAY)) == week_of(hour_index(MONDAY - dt.timedelta(hours=1))) + 1


def test_weeks_of_zeros_in_closed_form_equal_one_zero_sample_at_a_time():
    slot = Slot(20.0, 409.0, 10, 0.0, 0.0, 9)
    for weeks in range(0, 8):
        step = slot
        for k in range(weeks):
            step = sampled(step, slot.week + k + 1, 0)
        assert decayed(slot.mean, slot.mean_sq, weeks) == pytest.approx((step.mean, step.mean_sq))


def test_a_steady_agent_is_expected_to_do_what_it_always_did():
    agent = f.AgentFactory()
    h = History()
    for week in range(4):
        h.decision(agent, TUESDAY_10 + dt.timedelta(weeks=week, minutes=5), times=20)
    h.write()
    usage_fold()
    baselines_update(now=TUESDAY_10 + dt.timedelta(weeks=4, hours=-1))

    first_week = week_of(hour_index(TUESDAY_10))
    slot = slot_of(agent, "customer-records", TUESDAY_10)
    next_tuesday = hour_index(TUESDAY_10 + dt.timedelta(weeks=4))
    guess = expected(slot, next_tuesday, first_week)
    assert guess.weeks == 4
    assert guess.mean == pytest.approx(20.0)  # bias-corrected: not 0.3·20 + …
    assert guess.sd == pytest.approx(0.0, abs=1e-3)
    saturday = hour_index(TUESDAY_10 + dt.timedelta(weeks=4, days=4))
    assert (
        expected(
            slot_of(agent, "customer-records", TUESDAY_10 + dt.timedelta(days=4)),
            saturday,
            first_week,
        ).mean
        == 0.0
    )
    # Over all resources, the same slot.
    assert expected(slot_of(agent, ALL_RESOURCES, TUESDAY_10), next_tuesday, first_week).mean == (
        pytest.approx(20.0)
    )


def test_an_hour_is_judged_against_the_state_before_its_own_sample():
    agent = f.AgentFactory()
    h = History()
    for week in range(3):
        h.decision(agent, TUESDAY_10 + dt.timedelta(weeks=week), times=20)
    burst = TUESDAY_10 + dt.timedelta(weeks=3)
    h.decision(agent, burst, times=800)
    h.write()
    usage_fold()
    first_week = week_of(hour_index(TUESDAY_10))
    baselines_update(now=burst)  # the burst's hour is still open
    before = expected(slot_of(agent, "customer-records", burst), hour_index(burst), first_week)
    baselines_update(now=burst + dt.timedelta(hours=2))  # now it is folded in
    slot = slot_of(agent, "customer-records", burst)
    assert slot.mean > 100  # the burst moved the slot …
    after = expected(slot, hour_index(burst), first_week)
    assert after == pytest.approx(before)  # … but the burst's own hour is judged as before it
    assert before.mean == pytest.approx(20.0)


def test_only_closed_hours_are_folded_once():
    agent = f.AgentFactory()
    History().decision(agent, TUESDAY_10, times=5).write()
    usage_fold()
    assert baselines_update(now=TUESDAY_10 + dt.timedelta(minutes=30)) == 0  # hour still open
    assert not UsageBaseline.objects.exists()
    folded = baselines_update(now=TUESDAY_10 + dt.timedelta(hours=1, minutes=10))
    assert folded == 1  # from the first hour with usage through the closed one
    once = list(UsageBaseline.objects.values_list("mean", "mean_sq", "week"))
    assert baselines_update(now=TUESDAY_10 + dt.timedelta(hours=1, minutes=10)) == 0
    assert list(UsageBaseline.objects.values_list("mean", "mean_sq", "week")) == once
    assert once[0][0] == pytest.approx(ALPHA * 5)
    mark = UsageWatermark.objects.get(name="baselines")
    assert mark.through == TUESDAY_10 + dt.timedelta(hours=1)


def test_hours_close_by_the_newest_folded_entry_while_the_fold_is_behind():
    agent = f.AgentFactory()
    History().decision(agent, TUESDAY_10).decision(
        agent, TUESDAY_10 + dt.timedelta(hours=3)
    ).write()
    assert usage_fold_batch(batch_size=1) == 1  # only the first entry: behind the log
    # Far later by the clock, but only entries up to 10:00 are folded: nothing has closed.
    assert baselines_update(now=TUESDAY_10 + dt.timedelta(days=2)) == 0
    usage_fold()
    assert baselines_update(now=TUESDAY_10 + dt.timedelta(days=2)) > 0


def test_a_quiet_week_in_between_counts_as_zeros():
    agent = f.AgentFactory()
    h = History()
    h.decision(agent, TUESDAY_10, times=10)
    h.decision(agent, TUESDAY_10 + dt.timedelta(weeks=2), times=10)  # week 1: nothing
    h.write()
    usage_fold()
    baselines_update(now=TUESDAY_10 + dt.timedelta(weeks=2, hours=2))
    slot = slot_of(agent, "customer-records", TUESDAY_10)
    m1 = ALPHA * 10
    m2 = (1 - ALPHA) * m1
    assert slot.prev_mean == pytest.approx(m2)
    assert slot.mean == pytest.approx(m2 + ALPHA * (10 - m2))
    first_week = week_of(hour_index(TUESDAY_10))
    guess = expected(slot, hour_index(TUESDAY_10 + dt.timedelta(weeks=3)), first_week)
    weight = 1 - (1 - ALPHA) ** 3
    assert guess.mean == pytest.approx(slot.mean / weight)
    assert not math.isnan(guess.sd)
