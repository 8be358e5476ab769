"""``/healthz`` (the process is alive) and ``/readyz`` (it can do its job), for load balancers
and orchestrators.

Readiness is the database, Redis and the Celery broker reachable, a signing key the process can
open, the audit sequencer keeping up and checkpoints being signed. The answer names each check
and its state (``ok``, ``fail``, ``off`` when not configured) and nothing else: no host, no
address, no version, no error text, since the endpoints answer anyone who can reach them. The
reasons go to the log instead. Every check is bounded in time (1 s sockets), so a dead Redis
makes the probe say so rather than hang.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from audit.selectors import chain_health
from credentials.selectors import signing_key_usable

log = logging.getLogger(__name__)

OK, FAIL, OFF = "ok", "fail", "off"
TIMEOUT_SECONDS = 1.0


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def _ping(url: str) -> str:
    client = redis.Redis.from_url(
        url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        return OK if client.ping() else FAIL
    finally:
        client.close()


def check_redis() -> str:
    return _ping(settings.REDIS_URL) if settings.REDIS_URL else OFF


def check_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return _ping(url)
    if url.startswith("filesystem://"):
        folders = {
            Path(v) for k, v in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items() if "folder" in k
        }
        return OK if all(os.access(f, os.W_OK) for f in folders) else FAIL
    from governance.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
    return OK


def check_signing_key() -> str:
    return OK if signing_key_usable() else FAIL


def _audit_checks() -> dict[str, str]:
    health = chain_health()
    return {
        "audit_sequencer": FAIL if health.sequencer_behind else OK,
        "audit_checkpoint": FAIL if health.checkpoint_stale or health.witness_stale else OK,
    }


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "redis": check_redis,
    "broker": check_broker,
    "signing_key": check_signing_key,
}


def readiness() -> tuple[bool, dict[str, str]]:
    """(ready?, state of each check). Never raises: a check that errors is ``fail``."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        results[name] = _run(name, check)
    if results["database"] == OK:
        try:
            results.update(_audit_checks())
        except Exception as exc:
            log.warning("readiness: audit progress could not be read: %r", exc)
            results.update(audit_sequencer=FAIL, audit_checkpoint=FAIL)
    else:
        results.update(audit_sequencer=FAIL, audit_checkpoint=FAIL)
    return all(state in (OK, OFF) for state in results.values()), results


def _run(name: str, check: Callable[[], str]) -> str:
    try:
        return check()
    except Exception as exc:  # the reason goes to the log, never into the answer
        log.warning("readiness: %s check failed: %r", name, exc)
        return FAIL
