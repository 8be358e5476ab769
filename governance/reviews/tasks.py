"""Periodic work of access reviews: take nothing, call one service, safe to re-run."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="reviews.schedule", acks_late=True, time_limit=900, soft_time_limit=840)
def open_scheduled_campaign() -> int | None:
    """Open the scheduled campaign if the policy says one is due; its id, or None."""
    campaign = services.reviews_schedule_due()
    return campaign.pk if campaign else None


@shared_task(name="reviews.ladder", acks_late=True, time_limit=900, soft_time_limit=840)
def run_ladder() -> dict[str, int]:
    """Reminders, escalation, quarantine and the policy outcome of overdue items."""
    return services.reviews_ladder_run()


@shared_task(name="reviews.micro_sweep", acks_late=True, time_limit=900, soft_time_limit=840)
def micro_sweep() -> dict[str, int]:
    """Micro-reviews for empty teams, untrusted and dormant agents."""
    return services.reviews_micro_sweep()
