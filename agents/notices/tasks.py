"""Celery tasks of the notices outbox; both only call ``delivery`` and are safe to re-run."""

from __future__ import annotations

from celery import shared_task

from . import delivery


@shared_task(name="notices.deliver", bind=True, acks_late=True, max_retries=delivery.MAX_ATTEMPTS)
def deliver(self, outbox_id: int) -> str:
    """Send one outbox row (queued on the commit that wrote it); a failure retries later."""
    outcome = delivery.outbox_deliver(outbox_id=outbox_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@shared_task(name="notices.sweep_outbox", acks_late=True)
def sweep_outbox() -> dict[str, int]:
    """Deliver what no task delivered: never queued, lost by the broker, or due for a retry."""
    return delivery.outbox_sweep()
