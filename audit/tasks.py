"""Celery tasks of the audit log: the sequencer's drain loop."""

from __future__ import annotations

import logging

from celery import shared_task

from . import chain

log = logging.getLogger(__name__)

# Beat fires every second; each run drains for just under a second, so a committed entry waits
# at most ~1 s for its seq and overlapping runs simply queue on the sequencer's lock.
DRAIN_SECONDS = 0.9


@shared_task(name="audit.sequence", ignore_result=True, time_limit=30, soft_time_limit=20)
def sequence() -> int:
    """Chain committed entries for just under a second."""
    count = chain.sequence_for(seconds=DRAIN_SECONDS, poll=0.1)
    if count:  # a trace of every run that did work; idle runs (most seconds) stay quiet
        log.info("audit sequencer chained %d entries; head is seq %d", count, chain.chain_head()[0])
    return count
