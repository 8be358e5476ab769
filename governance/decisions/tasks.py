"""Periodic work of the decision point."""

from __future__ import annotations

from celery import shared_task

from . import counters


@shared_task(name="decisions.sweep_counters", acks_late=True)
def sweep_counters() -> int:
    """Delete database counters whose window or period has ended. Idempotent."""
    return counters.counters_sweep()
