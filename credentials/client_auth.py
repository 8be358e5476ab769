"""Authenticating the calling OAuth client of a request.

Three methods (RFC 6749 §2.3, RFC 7523): ``client_secret_basic``, ``client_secret_post`` and
``private_key_jwt``. Unknown client, unknown credential, wrong secret and revoked credential
all fail the same way (``invalid_client``); the specific reason goes to the audit log only.
Failed attempts are counted per client id and per source address in the cache (Redis in
production) and throttled.

With ``use_cache`` (the token endpoint's ``client_credentials`` grant) a client authenticated
from the database is remembered per process at the revocation epoch (``credentials.epoch``):
the next request checks its secret or assertion against the remembered credential without a
query, and its one write must then carry the epoch guard. Only success comes from the cache;
anything else is decided again from the database, which also records it. The failure throttle
guards that database path: every failed attempt is counted and throttled as before, but a
flood of wrong secrets sent under an agent's (public) client id does not lock out the agent
while its process remembers it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import jwt
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from agents.models import Agent, Resource
from audit.services import record

from . import crypto, epoch, process_caches
from .errors import ClientAuthError, ClientThrottled, OAuthError
from .models import Credential
from .sql import (
    TokenContext,
    credential_with_principal,
    insert_assertion_jti,
    usable_key_credentials,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The JWS ``alg`` an assertion may carry -> the algorithm its key credential is pinned to.
# RFC 9864's ``Ed25519`` and the older ``EdDSA`` name the same signatures with an Ed25519 key.
ASSERTION_ALGORITHMS = {"ES256": "ES256", "EdDSA": "EdDSA", "Ed25519": "EdDSA"}
# A credential's pinned algorithm -> the ``alg`` values that may sign with its key.
JWS_NAMES = {"ES256": ["ES256"], "EdDSA": ["EdDSA", "Ed25519"]}
ASSERTION_MAX_LIFETIME_SECONDS = 3600  # Authlib and most clients default to one hour
LEEWAY_SECONDS = 5
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)

_DUMMY_HMAC = "0" * 64


@dataclass(frozen=True)
class ClientPrincipal:
    """An authenticated client: an agent or a resource server, and the credential it used.

    ``assertion`` is the (client id, jti, expiry) of a ``private_key_jwt`` assertion still to
    be entered in the replay cache when authentication was asked to defer it (see
    ``consume_assertion``); None otherwise. ``context`` is the agent's token context read in
    the same query as the credential, so issuing a token needs no further read.
    """

    credential: Credential
    method: str
    assertion: tuple[str, str, dt.datetime] | None = None
    # The agent's grants, audiences and version, read with the credential (None: not read).
    context: TokenContext | None = None
    # Set when the client came from the cache: the epoch its one write must be guarded with.
    guard_epoch: int | None = None
    # The ``config_digest`` claim of a verified ``private_key_jwt`` assertion, as it was
    # (None: absent); checked by ``credentials.config_digest`` (drift).
    config_digest: object = None

    @property
    def agent(self) -> Agent | None:
        return self.credential.agent if self.credential.agent_id else None

    @property
    def resource(self) -> Resource | None:
        return self.credential.resource if self.credential.resource_id else None

    @property
    def client_id(self) -> str:
        return self.credential.client_id

    @property
    def principal(self) -> str:
        return self.credential.principal


@dataclass(frozen=True)
class _Verified:
    credential: Credential
    context: TokenContext
    assertion: tuple[str, str, dt.datetime] | None = None
    guard_epoch: int | None = None
    config_digest: object = None  # the assertion's claim (see ClientPrincipal)


# Credentials that authenticated from the database, per process, at an epoch: the digest of a
# presented client id and secret -> (Credential, TokenContext), and (client id, algorithm) ->
# the usable public keys as [(Credential, TokenContext, key)]. The instances are shared: only
# ``_touch`` changes them (``last_used_at``).
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


class _Failure(Exception):
    def __init__(self, reason: str, client_id: str = "", credential_id: str = "") -> None:
        super().__init__(reason)
        self.reason, self.client_id, self.credential_id = reason, client_id, credential_id


def token_endpoint_url() -> str:
    return f"{settings.OAUTH_ISSUER}/oauth/token"


def _address(request: HttpRequest) -> str:
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


def _check_throttle(client_id: str, address: str) -> None:
    keys = _counter_keys(client_id, address)
    # One round trip for both counters (Redis in production): this runs on every request.
    counts = cache.get_many([key for key, _ in keys])
    for key, (limit, window) in keys:
        if (counts.get(key) or 0) >= limit:
            raise ClientThrottled(retry_after=window)


def _count_failure(client_id: str, address: str) -> None:
    for key, (_, window) in _counter_keys(client_id, address):
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window)


def _claimed_client_id(request: HttpRequest) -> str:
    """The client id the request claims, for throttling and audit only (never trusted)."""
    if request.headers.get("Authorization", "")[:6].lower() == "basic ":
        try:
            return _basic_credentials(request)[0][:64]
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return ""
    client_id = request.POST.get("client_id", "")
    if not client_id and request.POST.get("client_assertion"):
        _, payload = _peek(request.POST["client_assertion"])
        client_id = str(payload.get("sub", "")) if payload else ""
    return client_id[:64]


def _segment(value: str) -> dict | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, binascii.Error):
        return None
    return decoded if isinstance(decoded, dict) else None


def _peek(assertion: str) -> tuple[dict | None, dict | None]:
    """The UNVERIFIED header and claims of a compact JWS: only to pick the key to verify with."""
    parts = assertion.split(".")
    if len(parts) != 3 or len(assertion) > 8192:
        return None, None
    return _segment(parts[0]), _segment(parts[1])


def _record_failure(request: HttpRequest, failure: _Failure, method: str) -> None:
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


@dataclass(frozen=True)
class _Presented:
    """What a request presents to authenticate: a client id with a secret or an assertion."""

    client_id: str
    secret: str = ""
    assertion: str = ""


def _presented(request: HttpRequest, method: str, claimed: str = "") -> _Presented:
    """The credentials ``request`` presents for ``method``; ``_Failure`` if malformed."""
    post = request.POST
    if method == "client_secret_basic":
        try:
            raw_id, raw_secret = _basic_credentials(request)
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise _Failure("malformed_basic_header") from exc
        return _Presented(raw_id, secret=raw_secret)
    if method == "client_secret_post":
        client_id = post.get("client_id", "")
        if not client_id:
            raise _Failure("missing_client_id")
        return _Presented(client_id, secret=post.get("client_secret", ""))
    if post.get("client_assertion_type") != ASSERTION_TYPE:
        raise _Failure("unsupported_assertion_type", claimed)
    assertion = post.get("client_assertion", "")
    if not assertion or len(assertion) > 8192:
        raise _Failure("malformed_assertion", claimed)
    return _Presented(post.get("client_id", ""), assertion=assertion)


def _assertion_head(presented: _Presented) -> tuple[dict, str, str]:
    """The assertion's header, the client id it claims and the credential algorithm its
    ``alg`` needs, all still unverified; ``_Failure`` if they cannot name a key."""
    header, unverified = _peek(presented.assertion)
    if header is None or unverified is None:
        raise _Failure("malformed_assertion", presented.client_id)
    client_id = unverified.get("sub")
    if not isinstance(client_id, str) or unverified.get("iss") != client_id:
        raise _Failure("assertion_iss_sub_mismatch", presented.client_id)
    if presented.client_id and presented.client_id != client_id:
        raise _Failure("client_id_mismatch", presented.client_id)
    algorithm = ASSERTION_ALGORITHMS.get(header.get("alg"))
    if algorithm is None:
        raise _Failure("assertion_algorithm_refused", client_id)
    return header, client_id, algorithm


def _presented_digest(client_id: str, secret: str) -> bytes:
    """What a remembered secret client is found by: a digest of exactly the client id and
    secret that authenticated, so finding it proves the same secret without another HMAC."""
    return hashlib.sha256(f"{client_id}\n{secret}".encode()).digest()


def _cached_secret(client_id: str, secret: str) -> _Verified | None:
    at = epoch.known()
    hit = _secret_clients.get(_presented_digest(client_id, secret), at, process_caches.time())
    if hit is None:
        return None
    credential, context = hit
    return _Verified(credential, context, guard_epoch=at)


def _cached_assertion(request: HttpRequest, presented: _Presented) -> _Verified | None:
    header, client_id, algorithm = _assertion_head(presented)
    at = epoch.known()
    cached = _key_clients.get((client_id, algorithm), at, process_caches.time())
    if cached is None:
        return None
    return _check_assertion(
        presented.assertion, cached, header.get("kid"), client_id, _audiences(request), at
    )


def _from_cache(request: HttpRequest, method: str) -> _Verified | None:
    """The client remembered at the last epoch seen, if it proves itself exactly as it did
    then; None on any doubt (the database path then decides, and records any failure)."""
    try:
        presented = _presented(request, method)
        if presented.assertion:
            return _cached_assertion(request, presented)
        return _cached_secret(presented.client_id, presented.secret)
    except _Failure:
        return None


def _basic_credentials(request: HttpRequest) -> tuple[str, str]:
    auth = request.headers.get("Authorization", "")
    decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
    raw_id, raw_secret = decoded.split(":", 1)
    return unquote_plus(raw_id), unquote_plus(raw_secret)


def _audiences(request: HttpRequest) -> list[str]:
    return [token_endpoint_url(), settings.OAUTH_ISSUER, settings.OAUTH_ISSUER + request.path]


def _verify_secret(client_id: str, secret: str, remember: bool) -> _Verified:
    parsed = crypto.parse_secret(secret)
    if parsed is None:
        crypto.secret_matches(_DUMMY_HMAC, "0" * 16, secret[:200])  # same work as a real check
        raise _Failure("malformed_secret", client_id)
    at = epoch.current() if remember else None  # read BEFORE the rows it will vouch for
    found = credential_with_principal(parsed.credential_id, Credential.Kind.CLIENT_SECRET)
    credential, context = found if found else (None, None)
    stored = credential.secret_hmac if credential else _DUMMY_HMAC
    matches = crypto.secret_matches(stored, parsed.credential_id, parsed.secret)
    if credential is None:
        raise _Failure("unknown_credential", client_id, parsed.credential_id)
    if not matches:
        raise _Failure("wrong_secret", client_id, credential.pk)
    if not hmac.compare_digest(credential.client_id.encode(), client_id.encode()):
        raise _Failure("client_id_mismatch", client_id, credential.pk)
    assert context is not None
    if _rememberable(credential):
        pair = (credential, context)
        key = _presented_digest(client_id, secret)
        _secret_clients.put(key, at, _valid_until([pair]), pair)
    return _Verified(credential, context)


def _verify_assertion(request: HttpRequest, presented: _Presented, remember: bool) -> _Verified:
    header, client_id, algorithm = _assertion_head(presented)
    at = epoch.current() if remember else None  # read BEFORE the rows it will vouch for
    candidates = [
        (credential, context, crypto.load_public_jwk(credential.public_jwk))
        for credential, context in usable_key_credentials(
            client_id, algorithm, process_caches.now()
        )
    ]
    verified = _check_assertion(
        presented.assertion, candidates, header.get("kid"), client_id, _audiences(request), None
    )
    usable = [c for c in candidates if _rememberable(c[0])]
    if usable:
        _key_clients.put((client_id, algorithm), at, _valid_until(usable), usable)
    return verified


def _check_assertion(
    assertion: str,
    candidates: list[tuple[Credential, TokenContext, Any]],
    kid: Any,
    client_id: str,
    audiences: list[str],
    guard_epoch: int | None,
) -> _Verified:
    """The assertion verified with one of the candidate keys (the ``kid`` one first)."""
    if isinstance(kid, str) and kid:
        named = [c for c in candidates if kid in (c[0].pk, c[0].jwk_thumbprint)]
        candidates = named or candidates
    if not candidates:
        raise _Failure("no_public_key", client_id)
    last_error = "bad_assertion_signature"
    for credential, context, key in candidates:
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=JWS_NAMES[credential.algorithm],  # pinned by the credential
                audience=audiences,
                issuer=client_id,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "jti", "iss", "sub", "aud"]},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError as exc:
            raise _Failure("assertion_expired", client_id, credential.pk) from exc
        except jwt.ImmatureSignatureError as exc:
            raise _Failure("assertion_not_yet_valid", client_id, credential.pk) from exc
        except jwt.InvalidAudienceError as exc:
            raise _Failure("assertion_wrong_audience", client_id, credential.pk) from exc
        except jwt.InvalidTokenError as exc:
            last_error = "malformed_assertion"
            raise _Failure(last_error, client_id, credential.pk) from exc
        now = timezone.now().timestamp()
        if not isinstance(claims["exp"], int | float) or claims["exp"] > (
            now + ASSERTION_MAX_LIFETIME_SECONDS + LEEWAY_SECONDS
        ):
            raise _Failure("assertion_lifetime_too_long", client_id, credential.pk)
        iat = claims.get("iat")
        if iat is not None and (not isinstance(iat, int | float) or iat > now + LEEWAY_SECONDS):
            raise _Failure("assertion_issued_in_future", client_id, credential.pk)
        jti = claims["jti"]
        if not isinstance(jti, str) or not 8 <= len(jti) <= 200:
            raise _Failure("assertion_bad_jti", client_id, credential.pk)
        expires_at = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
        return _Verified(
            credential,
            context,
            (client_id, jti, expires_at),
            guard_epoch,
            config_digest=claims.get("config_digest"),
        )
    raise _Failure(last_error, client_id)


def _touch(credential: Credential) -> None:
    """Record use at most once a minute, so the hot path does not write on every request."""
    now = process_caches.now()
    cutoff = now - LAST_USED_GRANULARITY
    if credential.last_used_at is None or credential.last_used_at < cutoff:
        Credential.objects.filter(pk=credential.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff)
        ).update(last_used_at=now)
        credential.last_used_at = now


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
    address = _address(request)
    _count_failure(client.client_id, address)
    failure = _Failure("assertion_replayed", client.client_id, client.credential.pk)
    _record_failure(request, failure, client.method)


def _authenticate_from_database(request: HttpRequest, method: str, remember: bool) -> _Verified:
    """Throttle, verify against the database, record any failure (``ClientAuthError``)."""
    address = _address(request)
    claimed = _claimed_client_id(request)
    _check_throttle(claimed, address)
    try:
        presented = _presented(request, method, claimed)
        verified = (
            _verify_assertion(request, presented, remember)
            if presented.assertion
            else _verify_secret(presented.client_id, presented.secret, remember)
        )
        credential = verified.credential
        if not credential.is_usable(process_caches.now()):
            raise _Failure(f"credential_{credential.status}", claimed, credential.pk)
        if credential.agent_id and credential.agent.status != Agent.Status.ACTIVE:
            raise _Failure(f"agent_{credential.agent.status}", claimed, credential.pk)
    except _Failure as failure:
        failure.client_id = failure.client_id or claimed
        _count_failure(claimed, address)
        _record_failure(request, failure, method)
        raise ClientAuthError() from None
    return verified


def authenticate_client(
    request: HttpRequest, *, defer_replay: bool = False, use_cache: bool = False
) -> ClientPrincipal:
    """The authenticated client of ``request``, or ``ClientAuthError`` / ``OAuthError``.

    With ``defer_replay`` a ``private_key_jwt`` assertion's ``jti`` is not yet entered in the
    replay cache: the caller MUST call ``consume_assertion`` in its write transaction. With
    ``use_cache`` the client may come from the per-process cache; then ``guard_epoch`` is set
    and the caller MUST guard its write with it (see the module docstring).
    """
    auth = request.headers.get("Authorization", "")
    has_basic = auth[:6].lower() == "basic "
    has_post_secret = "client_secret" in request.POST
    has_assertion = "client_assertion" in request.POST or "client_assertion_type" in request.POST
    if sum((has_basic, has_post_secret, has_assertion)) > 1:
        raise OAuthError("invalid_request", "use exactly one client authentication method")
    if has_basic:
        method = "client_secret_basic"
    elif has_post_secret:
        method = "client_secret_post"
    elif has_assertion:
        method = "private_key_jwt"
    else:
        raise ClientAuthError("client authentication is required")

    verified = _from_cache(request, method) if use_cache else None
    if verified is None:
        verified = _authenticate_from_database(request, method, remember=use_cache)
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
