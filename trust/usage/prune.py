"""Retention of the hourly usage counters: delete the hours no reader needs, a few per batch.

Who reads ``UsageHour``, and how far back: the behaviour signals (``behaviour_window_days``,
and ``volume_window_hours`` before the baselines' horizon), access reviews' evidence (uses in
the last 30 and 90 days), the denial bursts (two hours), and the baselines (only hours past
their own watermark). First sight and last use are in ``UsageTotal``, which is never pruned, so
"last used" and "first seen" do not move when hours go. ``TrustPolicy.usage_keep_days`` (at
least the evidence's 90 days) is how long hours are kept.

A consumer with an offset, like the fold: the ``usage_prune`` watermark is the last hour
deleted. Each batch deletes the next ``HOURS_PER_BATCH`` hours by the ``hour`` index and moves
the watermark in the same transaction, under its row lock: a worker killed mid-batch leaves the
batch undone and the next run starts at the same hour; two runs at once take turns.
``usage_rebuild`` resets the watermark with the facts it refolds.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.db.models import Min

from .baselines import BASELINES, HOURS_PER_WEEK, hour_index, hour_start
from .fold import watermark
from .models import UsageHour, UsageWatermark

PRUNE = "usage_prune"
# Hours per transaction: an hour holds one row per agent × resource × action × credential
# active in it, so a batch stays a bounded delete even at 100,000 agents.
HOURS_PER_BATCH = 6


def prune_horizon(*, now: dt.datetime, keep_days: int) -> int | None:
    """The last hour that may be deleted (hours since the epoch), None while nothing may.

    Older than ``keep_days``, and a week before the last hour folded into the baselines (the
    volume signal reads up to a week before that horizon; if the baselines lag, so does this).
    """
    folded = UsageWatermark.objects.filter(name=BASELINES).values_list("position", flat=True)
    position = folded.first()
    if not position:
        return None
    return min(hour_index(now - dt.timedelta(days=keep_days)) - 1, position - HOURS_PER_WEEK)


def _first_hour(position: int) -> int | None:
    """The first hour left to delete: after the watermark, or the oldest row on the first run."""
    if position:
        return position + 1
    oldest = UsageHour.objects.aggregate(oldest=Min("hour"))["oldest"]
    return None if oldest is None else hour_index(oldest)


def usage_prune(
    *, horizon: int | None, dry_run: bool = False, deadline: float | None = None
) -> tuple[int, bool]:
    """Delete (or, with ``dry_run``, count) the hourly rows up to ``horizon``, batch by batch.

    Returns the rows and whether it got to the horizon (False: stopped at ``deadline``, a
    ``time.monotonic()`` value; the next run goes on from the watermark).
    """
    if horizon is None:
        return 0, True
    rows, start = 0, None  # start: the dry run's own position (it moves no watermark)
    while deadline is None or time.monotonic() < deadline:
        with transaction.atomic():
            if dry_run:
                position = UsageWatermark.objects.filter(name=PRUNE).values_list(
                    "position", flat=True
                )
                first = start if start is not None else _first_hour(position.first() or 0)
            else:
                mark = watermark(PRUNE)
                first = _first_hour(mark.position)
            if first is None:
                return rows, True
            if first > horizon:
                if not dry_run and not mark.position:  # nothing older: no MIN() next time
                    mark.position, mark.through = first - 1, hour_start(first)
                    mark.save(update_fields=["position", "through", "updated_at"])
                return rows, True
            last = min(horizon, first + HOURS_PER_BATCH - 1)
            hours = UsageHour.objects.filter(
                hour__gte=hour_start(first), hour__lt=hour_start(last + 1)
            )
            if dry_run:
                rows += hours.count()
                start = last + 1
            else:
                rows += hours.delete()[0]
                mark.position, mark.through = last, hour_start(last + 1)
                mark.save(update_fields=["position", "through", "updated_at"])
    return rows, False
