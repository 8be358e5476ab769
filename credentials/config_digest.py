"""The configuration digest an agent may present with a token request (drift, issue 10 item 5).

Either as the ``config_digest`` form parameter or as a ``config_digest`` claim of its
``private_key_jwt`` assertion (both at once must agree). A request without one costs nothing.
A digest in the wrong form is ``invalid_request``. A digest the agent's reviewed versions or
reviewed observed configurations know is remembered per process, so a known digest costs no
query after the first; one nobody reviewed is recorded by ``agents.drift`` (once: audited,
owners told, trust recomputed) and the token is still issued — the trust engine, not this
request, holds the agent at PENDING.

Remembering only what is known is safe without an epoch: reviews are never withdrawn and
versions never deleted while their agent lives, so "known" does not turn false.
"""

from __future__ import annotations

import re
import threading

from agents.drift import DIGEST_PATTERN
from agents.drift.selectors import configuration_known
from agents.drift.services import configuration_observed

from . import process_caches
from .client_auth import ClientPrincipal
from .errors import OAuthError
from .services.access_tokens import requesting_agent

PARAMETER = "config_digest"
_DIGEST = re.compile(DIGEST_PATTERN)
_KNOWN_MAX = 10_000  # (agent, digest) pairs; past it the set starts again empty

_lock = threading.Lock()
_known: set[tuple[int, str]] = set()


def forget() -> None:
    with _lock:
        _known.clear()


process_caches.register("credentials.known_config_digests", forget)


def _presented(client: ClientPrincipal, form_value: str | None) -> tuple[str, str] | None:
    claim = client.config_digest
    if claim is not None and not isinstance(claim, str):
        raise OAuthError("invalid_request", "the assertion's config_digest claim must be a string")
    if form_value and claim and form_value != claim:
        raise OAuthError("invalid_request", "config_digest differs from the assertion's claim")
    if form_value:
        return form_value, "form"
    if claim:
        return claim, "assertion"
    return None


def check_config_digest(client: ClientPrincipal, form_value: str | None) -> None:
    """Check the digest the client presented, if any; record drift (``module docstring``)."""
    presented = _presented(client, form_value)
    if presented is None:
        return
    digest, via = presented
    if not _DIGEST.fullmatch(digest):
        raise OAuthError(
            "invalid_request", "config_digest must be sha256: followed by 64 lowercase hex digits"
        )
    agent = requesting_agent(client)
    key = (agent.pk, digest)
    if key in _known:
        return
    if configuration_known(agent.pk, digest):
        if process_caches.enabled():
            with _lock:
                if len(_known) >= _KNOWN_MAX:
                    _known.clear()
                _known.add(key)
        return
    configuration_observed(agent=agent, digest=digest, via=via)
