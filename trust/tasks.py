"""Celery: recompute one agent on an event, or every agent on the beat schedule (a task per span
of agents, so that every worker process takes a share).

Other apps send ``trust.recompute_agent`` by name on commit (``agents`` and ``credentials``
cannot import ``trust``): ``current_app.send_task("trust.recompute_agent", args=[agent_id])``.
"""

from __future__ import annotations

import logging

from celery import group, shared_task

from .recompute import agent_spans, recompute_agents, recompute_span
from .retention import trust_prune
from .services import trust_pins_expire

log = logging.getLogger(__name__)


@shared_task(name="trust.recompute_agent", ignore_result=True, time_limit=60, soft_time_limit=50)
def recompute_agent(agent_id: int) -> dict[str, int]:
    """Recompute one agent (safe to re-run: an unchanged outcome writes nothing)."""
    summary = recompute_agents([int(agent_id)])
    return {"agents": summary.agents, "level_changes": summary.level_changes}


@shared_task(name="trust.recompute_all", ignore_result=True)
def recompute_every_agent() -> dict[str, int]:
    """End expired pins, then send every span of agents to the workers as its own task.

    The spans run in parallel on as many worker processes as there are (each a transaction,
    ``recompute_span``), and a span lost with its worker is redelivered alone.
    """
    expired = trust_pins_expire()
    spans = list(agent_spans())
    if spans:
        group(recompute_span_task.si(lo, hi) for lo, hi in spans).apply_async()
    log.info("trust: %d spans of agents queued (%d pins expired)", len(spans), len(expired))
    return {"spans": len(spans), "pins_expired": len(expired)}


@shared_task(name="trust.recompute_span", ignore_result=True, time_limit=300, soft_time_limit=240)
def recompute_span_task(lo: int, hi: int) -> dict[str, int]:
    """Recompute the agents with ``lo < id <= hi`` as of when it runs (a span redelivered after
    its worker died judges today's facts; an unchanged outcome writes nothing); leaves a trace
    of what changed."""
    summary = recompute_span(int(lo), int(hi))
    log.info(
        "trust: recomputed %d agents %d..%d (%d history rows, %d level changes)",
        summary.agents,
        lo,
        hi,
        summary.written,
        summary.level_changes,
    )
    return {
        "agents": summary.agents,
        "written": summary.written,
        "level_changes": summary.level_changes,
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
