"""Celery task that signs audit checkpoints with the platform key and writes them to the witness."""

from __future__ import annotations

import logging

from celery import shared_task

from audit.services import checkpoint_create
from audit.witness import witness_publish

from .keys import sign_checkpoint

log = logging.getLogger(__name__)


@shared_task(name="audit.checkpoint", ignore_result=True, time_limit=60, soft_time_limit=50)
def checkpoint() -> int | None:
    """Sign the chain head if it moved (or the newest checkpoint is half the policy's age old),
    then write what the witness has not received; returns the signed seq."""
    created = checkpoint_create(signer=sign_checkpoint)
    if created is None:
        log.info("audit checkpoint: chain head unchanged")
    else:
        log.info("audit checkpoint: signed seq %s with key %s", created.seq, created.key_id)
    # After the checkpoint is committed, and also when none was made: a witness that failed
    # before is caught up.
    written = witness_publish()
    if written:
        log.info("audit checkpoint: wrote %d checkpoint(s) to the witness", written)
    return created.seq if created else None
