"""The failure throttle: failed authentications counted per claimed client id and per address.

The counters live in the cache (Redis in production) and guard the database path only: a
client id is public, so a flood of wrong secrets must not lock out a client that a warm process
can verify against what it remembers (``remembered``).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest

from audit.services import record

from ..errors import ClientThrottled
from .principal import Failure


def address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _counter_keys(client_id: str, address: str) -> list[tuple[str, tuple[int, int]]]:
    # (failures, window seconds), read on each use: override_settings works in tests.
    per_address = settings.CREDENTIAL_AUTH_FAILURES_PER_ADDRESS
    per_client = settings.CREDENTIAL_AUTH_FAILURES_PER_CLIENT
    keys = [(f"credauth:ip:{address}", per_address)]
    if client_id:
        digest = hashlib.sha256(client_id.encode()).hexdigest()[:32]
        keys.append((f"credauth:client:{digest}", per_client))
    return keys


def check_throttle(client_id: str, address: str) -> None:
    """``ClientThrottled`` when the client id or the address has failed too often."""
    keys = _counter_keys(client_id, address)
    # One round trip for both counters (Redis in production): this runs on every request.
    counts = cache.get_many([key for key, _ in keys])
    for key, (limit, window) in keys:
        if (counts.get(key) or 0) >= limit:
            raise ClientThrottled(retry_after=window)


def count_failure(client_id: str, address: str) -> None:
    for key, (_, window) in _counter_keys(client_id, address):
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window)


def record_failure(request: HttpRequest, failure: Failure, method: str) -> None:
    """The audit entry of a failed authentication, with the reason the client is not told."""
    with transaction.atomic():
        record(
            actor="anonymous",
            action="client.authenticate",
            outcome="failure",
            reason=failure.reason,
            resource=f"client:{failure.client_id}" if failure.client_id else "",
            credential_id=failure.credential_id,
            context_data={"method": method, "endpoint": request.path},
        )
