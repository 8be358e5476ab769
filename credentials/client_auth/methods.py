"""The three client authentication methods (RFC 6749 §2.3, RFC 7523): what a request presents
and how it is verified: ``client_secret_basic``, ``client_secret_post``, ``private_key_jwt``.

Unknown client, unknown credential, wrong secret and revoked credential all raise ``Failure``
with their own reason, which is audited; the client is only ever told ``invalid_client``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import jwt
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from .. import crypto, epoch, process_caches
from ..errors import ClientAuthError, OAuthError
from ..models import Credential
from ..sql import credential_with_principal, usable_key_credentials
from . import remembered
from .principal import Failure, Verified
from .remembered import KeyCandidate

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The JWS ``alg`` an assertion may carry -> the algorithm its key credential is pinned to.
# RFC 9864's ``Ed25519`` and the older ``EdDSA`` name the same signatures with an Ed25519 key.
ASSERTION_ALGORITHMS = {"ES256": "ES256", "EdDSA": "EdDSA", "Ed25519": "EdDSA"}
# A credential's pinned algorithm -> the ``alg`` values that may sign with its key.
JWS_NAMES = {"ES256": ["ES256"], "EdDSA": ["EdDSA", "Ed25519"]}
ASSERTION_MAX_LIFETIME_SECONDS = 3600  # Authlib and most clients default to one hour
LEEWAY_SECONDS = 5

_DUMMY_HMAC = "0" * 64


@dataclass(frozen=True)
class Presented:
    """What a request presents to authenticate: a client id with a secret or an assertion."""

    client_id: str
    secret: str = ""
    assertion: str = ""


def method_of(request: HttpRequest) -> str:
    """The one method ``request`` uses; ``OAuthError``/``ClientAuthError`` for two or none."""
    auth = request.headers.get("Authorization", "")
    has_basic = auth[:6].lower() == "basic "
    has_post_secret = "client_secret" in request.POST
    has_assertion = "client_assertion" in request.POST or "client_assertion_type" in request.POST
    if sum((has_basic, has_post_secret, has_assertion)) > 1:
        raise OAuthError("invalid_request", "use exactly one client authentication method")
    if has_basic:
        return "client_secret_basic"
    if has_post_secret:
        return "client_secret_post"
    if has_assertion:
        return "private_key_jwt"
    raise ClientAuthError("client authentication is required")


def presented(request: HttpRequest, method: str, claimed: str = "") -> Presented:
    """The credentials ``request`` presents for ``method``; ``Failure`` if malformed."""
    post = request.POST
    if method == "client_secret_basic":
        try:
            raw_id, raw_secret = _basic_credentials(request)
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise Failure("malformed_basic_header") from exc
        return Presented(raw_id, secret=raw_secret)
    if method == "client_secret_post":
        client_id = post.get("client_id", "")
        if not client_id:
            raise Failure("missing_client_id")
        return Presented(client_id, secret=post.get("client_secret", ""))
    if post.get("client_assertion_type") != ASSERTION_TYPE:
        raise Failure("unsupported_assertion_type", claimed)
    assertion = post.get("client_assertion", "")
    if not assertion or len(assertion) > 8192:
        raise Failure("malformed_assertion", claimed)
    return Presented(post.get("client_id", ""), assertion=assertion)


def claimed_client_id(request: HttpRequest) -> str:
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


def _basic_credentials(request: HttpRequest) -> tuple[str, str]:
    auth = request.headers.get("Authorization", "")
    decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
    raw_id, raw_secret = decoded.split(":", 1)
    return unquote_plus(raw_id), unquote_plus(raw_secret)


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


def assertion_head(presented: Presented) -> tuple[dict, str, str]:
    """The assertion's header, the client id it claims and the credential algorithm its
    ``alg`` needs, all still unverified; ``Failure`` if they cannot name a key."""
    header, unverified = _peek(presented.assertion)
    if header is None or unverified is None:
        raise Failure("malformed_assertion", presented.client_id)
    client_id = unverified.get("sub")
    if not isinstance(client_id, str) or unverified.get("iss") != client_id:
        raise Failure("assertion_iss_sub_mismatch", presented.client_id)
    if presented.client_id and presented.client_id != client_id:
        raise Failure("client_id_mismatch", presented.client_id)
    algorithm = ASSERTION_ALGORITHMS.get(header.get("alg"))
    if algorithm is None:
        raise Failure("assertion_algorithm_refused", client_id)
    return header, client_id, algorithm


def token_endpoint_url() -> str:
    return f"{settings.OAUTH_ISSUER}/oauth/token"


def audiences(request: HttpRequest) -> list[str]:
    """The ``aud`` values an assertion sent to this endpoint may carry."""
    return [token_endpoint_url(), settings.OAUTH_ISSUER, settings.OAUTH_ISSUER + request.path]


def verify_secret(client_id: str, secret: str, remember: bool) -> Verified:
    """A client secret checked against its credential row (found by the id inside it)."""
    parsed = crypto.parse_secret(secret)
    if parsed is None:
        crypto.secret_matches(_DUMMY_HMAC, "0" * 16, secret[:200])  # same work as a real check
        raise Failure("malformed_secret", client_id)
    at = epoch.current() if remember else None  # read BEFORE the rows it will vouch for
    found = credential_with_principal(parsed.credential_id, Credential.Kind.CLIENT_SECRET)
    credential, context = found if found else (None, None)
    stored = credential.secret_hmac if credential else _DUMMY_HMAC
    matches = crypto.secret_matches(stored, parsed.credential_id, parsed.secret)
    if credential is None:
        raise Failure("unknown_credential", client_id, parsed.credential_id)
    if not matches:
        raise Failure("wrong_secret", client_id, credential.pk)
    if not hmac.compare_digest(credential.client_id.encode(), client_id.encode()):
        raise Failure("client_id_mismatch", client_id, credential.pk)
    assert context is not None
    remembered.remember_secret(client_id, secret, at, credential, context)
    return Verified(credential, context)


def verify_assertion(request: HttpRequest, presented: Presented, remember: bool) -> Verified:
    """A ``private_key_jwt`` assertion checked against the client's usable keys."""
    header, client_id, algorithm = assertion_head(presented)
    at = epoch.current() if remember else None  # read BEFORE the rows it will vouch for
    candidates = [
        (credential, context, crypto.load_public_jwk(credential.public_jwk))
        for credential, context in usable_key_credentials(
            client_id, algorithm, process_caches.now()
        )
    ]
    verified = check_assertion(
        presented.assertion, candidates, header.get("kid"), client_id, audiences(request), None
    )
    remembered.remember_keys(client_id, algorithm, at, candidates)
    return verified


def check_assertion(
    assertion: str,
    candidates: list[KeyCandidate],
    kid: Any,
    client_id: str,
    audiences: list[str],
    guard_epoch: int | None,
) -> Verified:
    """The assertion verified with one of the candidate keys (the ``kid`` one first)."""
    if isinstance(kid, str) and kid:
        named = [c for c in candidates if kid in (c[0].pk, c[0].jwk_thumbprint)]
        candidates = named or candidates
    if not candidates:
        raise Failure("no_public_key", client_id)
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
            raise Failure("assertion_expired", client_id, credential.pk) from exc
        except jwt.ImmatureSignatureError as exc:
            raise Failure("assertion_not_yet_valid", client_id, credential.pk) from exc
        except jwt.InvalidAudienceError as exc:
            raise Failure("assertion_wrong_audience", client_id, credential.pk) from exc
        except jwt.InvalidTokenError as exc:
            last_error = "malformed_assertion"
            raise Failure(last_error, client_id, credential.pk) from exc
        now = timezone.now().timestamp()
        if not isinstance(claims["exp"], int | float) or claims["exp"] > (
            now + ASSERTION_MAX_LIFETIME_SECONDS + LEEWAY_SECONDS
        ):
            raise Failure("assertion_lifetime_too_long", client_id, credential.pk)
        iat = claims.get("iat")
        if iat is not None and (not isinstance(iat, int | float) or iat > now + LEEWAY_SECONDS):
            raise Failure("assertion_issued_in_future", client_id, credential.pk)
        jti = claims["jti"]
        if not isinstance(jti, str) or not 8 <= len(jti) <= 200:
            raise Failure("assertion_bad_jti", client_id, credential.pk)
        expires_at = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
        return Verified(
            credential,
            context,
            (client_id, jti, expires_at),
            guard_epoch,
            config_digest=claims.get("config_digest"),
        )
    raise Failure(last_error, client_id)
