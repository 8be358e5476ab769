"""Periodic work of the approvals app."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="approvals.expire", acks_late=True)
def expire_approvals() -> int:
    """Expire pending approval requests past ``expires_at``. Idempotent."""
    return services.approvals_expire_due()
