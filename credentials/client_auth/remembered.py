"""Remembered clients: credentials that authenticated from the database, kept per process at
the revocation epoch (``credentials.epoch``) so the next request of the same client needs no read.

An entry is stored under the epoch read *before* the rows it holds, and found only at that
epoch and before the first moment time alone could change it (the credential's expiry, a
grant's expiry). Finding a client here proves nothing by itself: a secret client is found by
the digest of exactly the secret that authenticated, and a key client's assertion is checked
exactly as on the database path (``methods.check_assertion``). The request's one write must
then carry the epoch guard.
"""

from __future__ import annotations

import hashlib
from typing import Any

from agents.models import Agent

from .. import epoch, process_caches
from ..models import Credential
from ..sql import TokenContext

# A usable public key of a client: its credential, the agent's token context and the key.
KeyCandidate = tuple[Credential, TokenContext, Any]

# The digest of a presented client id and secret -> (Credential, TokenContext), and
# (client id, algorithm) -> [KeyCandidate]. The instances are shared: only
# ``authenticate.touch`` changes them (``last_used_at``).
_secret_clients = epoch.EpochCache("credentials.secret_clients")
_key_clients = epoch.EpochCache("credentials.key_clients")


def _valid_until(candidates: list[tuple[Any, ...]]) -> float:
    """When time alone changes a remembered client: a credential or a grant expires."""
    until = float("inf")
    for credential, context, *_ in candidates:
        until = min(until, context.valid_until, epoch.timestamp(credential.expires_at))
    return until


def _rememberable(credential: Credential) -> bool:
    """A usable credential of an active agent or of a resource server."""
    if not credential.is_usable():
        return False
    return credential.agent.status == Agent.Status.ACTIVE if credential.agent_id else True


def _presented_digest(client_id: str, secret: str) -> bytes:
    """What a remembered secret client is found by: a digest of exactly the client id and
    secret that authenticated, so finding it proves the same secret without another HMAC."""
    return hashlib.sha256(f"{client_id}\n{secret}".encode()).digest()


def secret_client(
    client_id: str, secret: str
) -> tuple[Credential, TokenContext, int | None] | None:
    """The remembered client of exactly this id and secret, with the epoch it holds at."""
    at = epoch.known()
    hit = _secret_clients.get(_presented_digest(client_id, secret), at, process_caches.time())
    if hit is None:
        return None
    credential, context = hit
    return credential, context, at


def key_client(client_id: str, algorithm: str) -> tuple[list[KeyCandidate], int | None] | None:
    """The remembered public keys of a client for ``algorithm``, with the epoch they hold at."""
    at = epoch.known()
    candidates = _key_clients.get((client_id, algorithm), at, process_caches.time())
    return None if candidates is None else (candidates, at)


def remember_secret(
    client_id: str, secret: str, at: int | None, credential: Credential, context: TokenContext
) -> None:
    """Keep a secret client that just authenticated from rows read at epoch ``at``."""
    if _rememberable(credential):
        pair = (credential, context)
        _secret_clients.put(_presented_digest(client_id, secret), at, _valid_until([pair]), pair)


def remember_keys(
    client_id: str, algorithm: str, at: int | None, candidates: list[KeyCandidate]
) -> None:
    """Keep the usable keys of a client whose assertion just verified against rows read at
    epoch ``at``."""
    usable = [c for c in candidates if _rememberable(c[0])]
    if usable:
        _key_clients.put((client_id, algorithm), at, _valid_until(usable), usable)
