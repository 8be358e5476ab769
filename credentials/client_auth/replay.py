"""Replay of ``private_key_jwt`` assertions: each ``jti`` is used once (RFC 7523 §3)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from ..errors import ClientAuthError
from ..sql import insert_assertion_jti
from .principal import ClientPrincipal, Failure
from .throttle import address, count_failure, record_failure


class ReplayedAssertion(ClientAuthError):
    """A ``private_key_jwt`` assertion whose ``jti`` was already used."""


def consume_assertion(client: ClientPrincipal) -> None:
    """Enter a deferred assertion ``jti`` in the replay cache; ``ReplayedAssertion`` if used.

    Call it inside the transaction that writes the request's audit entry, so a request costs
    one write transaction (SQLite has one writer for the whole database). Token issuance
    instead writes the row with its entry in one statement (``audit.services.record_row``'s
    ``along_with``).
    """
    if client.assertion is None:
        return
    client_id, jti, expires_at = client.assertion
    try:
        with transaction.atomic():
            insert_assertion_jti(client_id, jti, expires_at)
    except IntegrityError as exc:
        raise ReplayedAssertion() from exc


def record_replay(request: HttpRequest, client: ClientPrincipal) -> None:
    """Count and audit a replayed assertion found by ``consume_assertion``."""
    count_failure(client.client_id, address(request))
    failure = Failure("assertion_replayed", client.client_id, client.credential.pk)
    record_failure(request, failure, client.method)
