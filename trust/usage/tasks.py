"""Celery: fold new audit entries into the usage facts, then close hours into the baselines."""

from __future__ import annotations

import logging

from celery import shared_task

from .baselines import baselines_update
from .fold import usage_fold
from .selectors import denial_bursts

log = logging.getLogger(__name__)

# Beat fires every 10 s; a run folds for at most 8 s, so runs rarely overlap, and when they do
# the second waits for the watermark's lock and continues where the first stopped.
FOLD_SECONDS = 8.0


@shared_task(name="trust.fold_usage", ignore_result=True, time_limit=120, soft_time_limit=100)
def fold_usage() -> dict[str, int]:
    """Fold the audit log past the watermark; fold closed hours into the baselines."""
    result = usage_fold(max_seconds=FOLD_SECONDS)
    hours = baselines_update()
    bursts = denial_bursts() if result.entries else []
    if bursts:  # a burst of denials is an event for the trust engine
        from trust.recompute import recompute_agents

        summary = recompute_agents(bursts)
        log.info("usage: denial burst, recomputed %d agents", summary.agents)
    if result.entries or hours:  # a trace of every run that did work
        log.info(
            "usage: folded %d audit entries (now at seq %d), %d hours into baselines",
            result.entries,
            result.position,
            hours,
        )
    return {"entries": result.entries, "position": result.position, "hours": hours}
