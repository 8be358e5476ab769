"""Celery tasks of the audit log: the sequencer's drain loop."""

from __future__ import annotations

import logging

from celery import shared_task

from . import chain
from .leader import Leadership

log = logging.getLogger(__name__)

# Beat fires every second; each run drains for just under a second, so a committed entry waits
# at most ~1 s for its seq.
DRAIN_SECONDS = 0.9
_sequencer: Leadership | None = None  # per process, made after the worker forked


def sequencer_lock() -> Leadership:
    """The lock that makes one sequencer run at a time across every worker and host."""
    global _sequencer
    if _sequencer is None:
        # Held for one run on the task's own connection: nothing stays open between runs.
        _sequencer = Leadership("audit-sequencer", own_connection=False)
    return _sequencer


@shared_task(name="audit.sequence", ignore_result=True, time_limit=30, soft_time_limit=20)
def sequence() -> int:
    """Chain committed entries for just under a second, unless another sequencer is running
    (two beats, or a run that overran its second): that one is draining the same entries."""
    lock = sequencer_lock()
    if not lock.acquire():
        return 0
    try:
        count = chain.sequence_for(seconds=DRAIN_SECONDS, poll=0.1)
    finally:
        lock.release()
    if count:  # a trace of every run that did work; idle runs (most seconds) stay quiet
        log.info("audit sequencer chained %d entries; head is seq %d", count, chain.chain_head()[0])
    return count
