"""Celery task that signs audit checkpoints with the platform key."""

from __future__ import annotations

import logging

from celery import shared_task

from audit.services import checkpoint_create

from .keys import sign_checkpoint

log = logging.getLogger(__name__)


@shared_task(name="audit.checkpoint", ignore_result=True, time_limit=60, soft_time_limit=50)
def checkpoint() -> int | None:
    """Sign the chain head if it moved since the last checkpoint; returns its seq."""
    created = checkpoint_create(signer=sign_checkpoint)
    if created is None:
        log.info("audit checkpoint: chain head unchanged")
        return None
    log.info("audit checkpoint: signed seq %s with key %s", created.seq, created.key_id)
    return created.seq
