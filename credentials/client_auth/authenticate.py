"""Authenticating the calling client of a request: from what this process remembers, else from
the database behind the failure throttle; then ``last_used_at`` and the assertion's replay."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.http import HttpRequest

from agents.models import Agent, Resource

from .. import process_caches
from ..errors import ClientAuthError
from ..models import Credential
from . import methods, remembered, throttle
from .principal import ClientPrincipal, Failure, Verified
from .replay import ReplayedAssertion, consume_assertion, record_replay

LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


def _from_cache(request: HttpRequest, method: str) -> Verified | None:
    """The client remembered at the last epoch seen, if it proves itself exactly as it did
    then; None on any doubt (the database path then decides, and records any failure)."""
    try:
        presented = methods.presented(request, method)
        if presented.assertion:
            header, client_id, algorithm = methods.assertion_head(presented)
            keys = remembered.key_client(client_id, algorithm)
            if keys is None:
                return None
            candidates, at = keys
            return methods.check_assertion(
                presented.assertion,
                candidates,
                header.get("kid"),
                client_id,
                methods.audiences(request),
                at,
            )
        hit = remembered.secret_client(presented.client_id, presented.secret)
        if hit is None:
            return None
        credential, context, at = hit
        return Verified(credential, context, guard_epoch=at)
    except Failure:
        return None


def _from_database(request: HttpRequest, method: str, remember: bool) -> Verified:
    """Throttle, verify against the database, record any failure (``ClientAuthError``)."""
    address = throttle.address(request)
    claimed = methods.claimed_client_id(request)
    throttle.check_throttle(claimed, address)
    try:
        presented = methods.presented(request, method, claimed)
        verified = (
            methods.verify_assertion(request, presented, remember)
            if presented.assertion
            else methods.verify_secret(presented.client_id, presented.secret, remember)
        )
        credential = verified.credential
        if not credential.is_usable(process_caches.now()):
            raise Failure(f"credential_{credential.status}", claimed, credential.pk)
        if credential.agent_id and credential.agent.status != Agent.Status.ACTIVE:
            raise Failure(f"agent_{credential.agent.status}", claimed, credential.pk)
    except Failure as failure:
        failure.client_id = failure.client_id or claimed
        throttle.count_failure(claimed, address)
        throttle.record_failure(request, failure, method)
        raise ClientAuthError() from None
    return verified


def _touch(credential: Credential) -> None:
    """Record use at most once a minute, so the hot path does not write on every request."""
    now = process_caches.now()
    cutoff = now - LAST_USED_GRANULARITY
    if credential.last_used_at is None or credential.last_used_at < cutoff:
        Credential.objects.filter(pk=credential.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff)
        ).update(last_used_at=now)
        credential.last_used_at = now


def authenticate_client(
    request: HttpRequest, *, defer_replay: bool = False, use_cache: bool = False
) -> ClientPrincipal:
    """The authenticated client of ``request``, or ``ClientAuthError`` / ``OAuthError``.

    With ``defer_replay`` a ``private_key_jwt`` assertion's ``jti`` is not yet entered in the
    replay cache: the caller MUST call ``consume_assertion`` in its write transaction. With
    ``use_cache`` the client may come from the per-process cache; then ``guard_epoch`` is set
    and the caller MUST guard its write with it (see ``remembered``).
    """
    method = methods.method_of(request)
    verified = _from_cache(request, method) if use_cache else None
    if verified is None:
        verified = _from_database(request, method, remember=use_cache)
    credential = verified.credential
    _touch(credential)
    client = ClientPrincipal(
        credential=credential,
        method=method,
        assertion=verified.assertion,
        context=verified.context,
        guard_epoch=verified.guard_epoch,
        config_digest=verified.config_digest,
    )
    if not defer_replay:
        try:
            consume_assertion(client)
        except ReplayedAssertion:
            record_replay(request, client)
            raise
        client = ClientPrincipal(
            credential=credential,
            method=method,
            context=verified.context,
            guard_epoch=verified.guard_epoch,
            config_digest=verified.config_digest,
        )
    return client


def authenticate_resource_server(request: HttpRequest) -> Resource:
    """The resource server calling (introspection, decisions), or ``ClientAuthError``."""
    client = authenticate_client(request)
    if client.resource is None:
        raise ClientAuthError("this endpoint is for resource servers")
    return client.resource
