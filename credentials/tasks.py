"""Periodic work of the credential service; each task calls one service and is safe to re-run."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="credentials.rotation_sweep", acks_late=True)
def rotation_sweep() -> dict[str, int]:
    """Flag credentials nearing the maximum age, then expire predecessors past their overlap."""
    return {
        "flagged": services.credentials_flag_due(),
        "expired": services.credentials_expire_due(),
    }


@shared_task(name="credentials.rotate_signing_keys", acks_late=True)
def rotate_signing_keys() -> dict[str, list[str]]:
    """Keep a next key published, promote it when due, expire retired keys."""
    return services.signing_keys_rotate()


@shared_task(name="credentials.cleanup_tokens", acks_late=True)
def cleanup_tokens() -> dict[str, int]:
    """Drop expired replay-cache rows and revoked jtis of expired tokens."""
    return services.tokens_cleanup()
