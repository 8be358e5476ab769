"""Celery tasks of the audit log: the sequencer's drain loop."""

from __future__ import annotations

from celery import shared_task

from . import chain

# Beat fires every second; each run drains for just under a second, so a committed entry waits
# at most ~1 s for its seq and overlapping runs simply queue on the sequencer's lock.
DRAIN_SECONDS = 0.9


@shared_task(name="audit.sequence", ignore_result=True, time_limit=30, soft_time_limit=20)
def sequence() -> int:
    """Chain committed entries for just under a second."""
    return chain.sequence_for(seconds=DRAIN_SECONDS, poll=0.1)
