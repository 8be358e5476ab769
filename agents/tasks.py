"""Periodic work of the registry."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="agents.expire_grants", acks_late=True)
def expire_grants() -> int:
    """Expire grants whose ``expires_at`` has passed. Idempotent."""
    return services.grants_expire_due()
