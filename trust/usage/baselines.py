"""Baselines: each agent's usual number of decisions per hour of the week, learnt as hours close.

One slot per agent × resource × hour of the week (and per agent over all resources), holding an
exponentially weighted mean and mean square over weeks: one sample per slot per week, so the cost
is per active slot, not per agent. A week in which the slot saw nothing is a zero sample, applied
lazily (``decayed``) when the slot is next updated or read. Early on the weights do not yet sum
to one; ``expected`` divides that out (bias correction, as Adam does), counting the weeks since
the agent was first seen, so two weeks of 20 an hour read as 20 ± 0, not 10 ± 10.

An hour is folded once it has closed: its end is ``GRACE`` before the newest audit entry folded
(or before now, when the aggregator is caught up with the chain head).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.db import transaction
from django.db.models import F, Min, Sum
from django.utils import timezone

from audit.models import AuditEntry

from .fold import USAGE, watermark
from .models import UsageBaseline, UsageHour, UsageWatermark
from .sql import upsert

BASELINES = "baselines"
ALPHA = 0.3  # weight of the newest week: a slot's half-life is about two weeks
GRACE = dt.timedelta(minutes=5)  # longer than any audited transaction plus the sequencing delay
HOURS_PER_WEEK = 168
_MONDAY_HOUR = 96  # 1970-01-05 00:00 UTC, the first Monday after the Unix epoch, in hours
ALL_RESOURCES = ""


def hour_index(moment: dt.datetime) -> int:
    """Whole hours since the Unix epoch."""
    return math.floor(moment.timestamp() / 3600)


def hour_start(index: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(index * 3600, tz=dt.UTC)


def week_of(index: int) -> int:
    return (index - _MONDAY_HOUR) // HOURS_PER_WEEK


def hour_of_week(index: int) -> int:
    return (index - _MONDAY_HOUR) % HOURS_PER_WEEK


class Slot(NamedTuple):
    """A baseline slot's state: after its latest sample (``week``) and before it (``prev_*``)."""

    mean: float
    mean_sq: float
    week: int
    prev_mean: float
    prev_mean_sq: float
    prev_week: int


SLOT_COLUMNS = ("mean", "mean_sq", "week", "prev_mean", "prev_mean_sq", "prev_week")


def decayed(mean: float, mean_sq: float, weeks: int) -> tuple[float, float]:
    """The state after ``weeks`` weeks of zeros (no activity in the slot): both shrink."""
    if weeks <= 0:
        return mean, mean_sq
    q = (1 - ALPHA) ** weeks
    return q * mean, q * mean_sq


def sampled(slot: Slot, week: int, count: float) -> Slot:
    """The slot after one week's count (weeks without a sample in between are zeros)."""
    mean, mean_sq = decayed(slot.mean, slot.mean_sq, week - slot.week - 1)
    return Slot(
        mean + ALPHA * (count - mean),
        mean_sq + ALPHA * (count * count - mean_sq),
        week,
        mean,
        mean_sq,
        week - 1,
    )


def empty_slot(week: int) -> Slot:
    """A slot never active before ``week``: zeros all along (applied lazily)."""
    return Slot(0.0, 0.0, week - 1, 0.0, 0.0, week - 1)


@dataclass(frozen=True)
class Expected:
    """What a slot predicts for one hour: mean and standard deviation, over ``weeks`` of history."""

    mean: float
    sd: float
    weeks: int


def expected(slot: Slot | None, hour: int, first_week: int) -> Expected | None:
    """The slot's prediction for ``hour``, from the samples before that hour's week.

    ``first_week``: the week the agent was first seen; the weeks since are the history, and
    dividing by their total weight makes mean and mean square plain weighted averages of it
    (the variance is their difference). None when the hour's week has already been overtaken
    by a later sample (only for hours more than a week old).
    """
    week = week_of(hour)
    weeks = week - first_week  # whole weeks of history before this one
    if weeks <= 0:
        return Expected(0.0, 0.0, 0)
    if slot is None:
        mean = mean_sq = 0.0
    elif slot.week < week:
        mean, mean_sq = decayed(slot.mean, slot.mean_sq, week - slot.week - 1)
    elif slot.week == week:
        mean, mean_sq = decayed(slot.prev_mean, slot.prev_mean_sq, week - slot.prev_week - 1)
    else:
        return None
    weight = 1 - (1 - ALPHA) ** weeks
    mean, mean_sq = mean / weight, mean_sq / weight
    return Expected(mean, math.sqrt(max(mean_sq - mean * mean, 0.0)), weeks)


def _closed_through(now: dt.datetime) -> int | None:
    """The last hour whose entries have all been folded, or None before any fold."""
    usage = UsageWatermark.objects.filter(name=USAGE).first()
    if usage is None or usage.through is None:
        return None
    caught_up = not AuditEntry.objects.filter(seq__gt=usage.position).exists()
    horizon = (now if caught_up else usage.through) - GRACE
    return hour_index(horizon) - 1


def _fold_hours(first: int, last: int) -> int:
    """Fold hours ``first..last`` (at most a week, so each slot gets one sample at most)."""
    volume = F("allowed") + F("denied") + F("pending")
    rows = (
        UsageHour.objects.filter(hour__gte=hour_start(first), hour__lt=hour_start(last + 1))
        .exclude(resource="")
        .values_list("agent_id", "resource", "hour")
        .annotate(n=Sum(volume))
        .filter(n__gt=0)
        .order_by()
    )
    samples: dict[tuple[int, str, int], int] = defaultdict(int)
    for agent_id, resource, hour, n in rows:
        index = hour_index(hour)
        samples[(agent_id, resource, index)] += n
        samples[(agent_id, ALL_RESOURCES, index)] += n
    if not samples:
        return 0
    existing = {
        (agent_id, resource, slot): Slot(*state)
        for agent_id, resource, slot, *state in UsageBaseline.objects.filter(
            agent_id__in={agent for agent, _, _ in samples},
            hour_of_week__in={hour_of_week(index) for _, _, index in samples},
        ).values_list("agent_id", "resource", "hour_of_week", *SLOT_COLUMNS)
    }
    changed = []
    for (agent_id, resource, index), count in samples.items():
        key, week = (agent_id, resource, hour_of_week(index)), week_of(index)
        slot = existing.get(key) or empty_slot(week)
        if slot.week < week:  # a rebuild replays in order; never fold one week twice
            changed.append((*key, *sampled(slot, week, count)))
    upsert(
        UsageBaseline,
        ("agent_id", "resource", "hour_of_week", *SLOT_COLUMNS),
        ("agent_id", "resource", "hour_of_week"),
        changed,
    )
    return len(changed)


def baselines_update(*, now: dt.datetime | None = None, through: dt.datetime | None = None) -> int:
    """Fold every closed hour not yet in the baselines; returns the hours folded.

    A week of hours per transaction, under the baselines watermark's row lock, which moves with
    the slots it changed (a crash re-folds nothing twice). ``through``: fold the hours before it
    whatever the usage watermark says — for histories written straight into the counters (the
    demo organisation's, which predate its audit log).
    """
    now = now or timezone.now()
    folded = 0
    while True:
        with transaction.atomic():
            mark = watermark(BASELINES)
            last_closed = hour_index(through) - 1 if through else _closed_through(now)
            if last_closed is None:
                return folded
            first = mark.position + 1
            if mark.position == 0:
                oldest = UsageHour.objects.aggregate(oldest=Min("hour"))["oldest"]
                first = hour_index(oldest) if oldest is not None else last_closed + 1
            if first > last_closed:
                if mark.position == 0:
                    mark.position = last_closed
                    mark.save(update_fields=["position", "updated_at"])
                return folded
            last = min(last_closed, first + HOURS_PER_WEEK - 1)
            _fold_hours(first, last)
            mark.position, mark.through = last, hour_start(last + 1)
            mark.save(update_fields=["position", "through", "updated_at"])
            folded += last - first + 1


def agents_first_seen(agent_ids) -> dict[int, dt.datetime]:
    """When each agent was first seen in the folded audit log (one query)."""
    from .models import UsageTotal

    rows = (
        UsageTotal.objects.filter(agent_id__in=agent_ids)
        .values("agent_id")
        .annotate(first=Min("first_at"))
        .order_by()
    )
    return {row["agent_id"]: row["first"] for row in rows}
