"""Celery: recompute one agent on an event, or every agent on the beat schedule.

Other apps send ``trust.recompute_agent`` by name on commit (``agents`` and ``credentials``
cannot import ``trust``): ``current_app.send_task("trust.recompute_agent", args=[agent_id])``.
"""

from __future__ import annotations

import logging

from celery import shared_task

from .recompute import recompute_agents, recompute_all
from .retention import trust_prune
from .services import trust_pins_expire

log = logging.getLogger(__name__)


@shared_task(name="trust.recompute_agent", ignore_result=True, time_limit=60, soft_time_limit=50)
def recompute_agent(agent_id: int) -> dict[str, int]:
    """Recompute one agent (safe to re-run: an unchanged outcome writes nothing)."""
    summary = recompute_agents([int(agent_id)])
    return {"agents": summary.agents, "level_changes": summary.level_changes}


@shared_task(name="trust.recompute_all", ignore_result=True, time_limit=1800, soft_time_limit=1700)
def recompute_every_agent() -> dict[str, int]:
    """End expired pins, then recompute every agent in batches; leaves a trace of each run."""
    expired = trust_pins_expire()
    summary = recompute_all()
    log.info(
        "trust: recomputed %d agents (%d history rows, %d level changes, %d pins expired)",
        summary.agents,
        summary.written,
        summary.level_changes,
        len(expired),
    )
    return {
        "agents": summary.agents,
        "written": summary.written,
        "level_changes": summary.level_changes,
        "pins_expired": len(expired),
    }


# A run deletes for at most this long, then audits what it did; the next run goes on.
PRUNE_SECONDS = 600.0


@shared_task(name="trust.prune", ignore_result=True, time_limit=900, soft_time_limit=840)
def prune() -> dict[str, int]:
    """Delete trust history and hourly usage past the policy's windows (one audit entry)."""
    result = trust_prune(max_seconds=PRUNE_SECONDS, reason="scheduled retention")
    log.info(
        "trust: pruned %d history rows and %d hourly usage rows%s",
        result.history_rows,
        result.usage_rows,
        "" if result.complete else " (time budget spent; the next run goes on)",
    )
    return {
        "history_rows": result.history_rows,
        "usage_rows": result.usage_rows,
        "complete": int(result.complete),
    }
