"""Checking a submitted compact JWS (RFC 7515) the way RFC 8725 asks, before any database read.

The attestor's registered key pins the algorithm: the header's ``alg`` only has to agree with
it, and is never used to choose how to verify. Headers that would let a submission bring its own
key or change how it is processed (``jwk``, ``jku``, ``x5u``, ``x5c``, ``crit``, …) are refused,
as is anything this module does not know. Claims are checked here too, with one stable reason
code for each refusal (the API's ``error``, the audit entry's ``reason``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import api_jws

from credentials import crypto

from .models import ClaimType, Result

MAX_JWS_BYTES = 8192  # a statement is a few hundred bytes; this bounds what we parse and audit
CLOCK_SKEW = dt.timedelta(seconds=60)
MAX_LIFETIME = dt.timedelta(days=400)  # a yearly audit plus a grace month
JTI_LENGTH = (8, 200)

# The JWS names each pinned key algorithm answers to: RFC 9864's fully specified ``Ed25519``
# is what current JOSE libraries sign with; ``EdDSA`` is its deprecated polymorphic name.
PINNED = {"ES256": ("ES256",), "EdDSA": ("EdDSA", "Ed25519")}
HEADER_ALLOWED = frozenset({"alg", "kid", "typ"})
HEADER_KEYS = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"})
TYPES_ALLOWED = frozenset({"jwt", "attestation+jwt"})
SUBJECT_PREFIX = "agent:"
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class Rejected(Exception):
    """A submission refused: ``code`` is the machine-readable reason, ``str()`` says it."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class Unverified:
    """What a submission claims before its signature is checked: only to find the key."""

    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) and kid else None

    @property
    def iss(self) -> str | None:
        iss = self.claims.get("iss")
        return iss if isinstance(iss, str) and iss else None


@dataclass(frozen=True)
class Statement:
    """The verified content of an attestation (``agent_slug`` still to be looked up)."""

    agent_slug: str
    claim_type: str
    result: str
    jti: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    config_digest: str


def decode_segment(value: str) -> dict[str, Any]:
    if not _B64URL.match(value):
        raise Rejected("malformed_jws", "a JWS segment is not base64url")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, binascii.Error, RecursionError) as exc:  # deep nesting: RecursionError
        raise Rejected("malformed_jws", "a JWS segment is not base64url-encoded JSON") from exc
    if not isinstance(decoded, dict):
        raise Rejected("malformed_jws", "the JWS header and payload must be JSON objects")
    return decoded


def peek(jws: str) -> Unverified:
    """Header and claims of a compact JWS, UNVERIFIED; ``Rejected`` if it is not one."""
    if len(jws.encode()) > MAX_JWS_BYTES:
        raise Rejected("too_large", f"an attestation is at most {MAX_JWS_BYTES} bytes")
    parts = jws.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise Rejected("malformed_jws", "not a compact JWS (header.payload.signature)")
    if not _B64URL.match(parts[2]):
        raise Rejected("malformed_jws", "the signature is not base64url")
    unverified = Unverified(decode_segment(parts[0]), decode_segment(parts[1]))
    check_header(unverified.header)
    return unverified


def check_header(header: dict[str, Any]) -> None:
    """Refuse what RFC 8725 warns about: no algorithm, embedded or fetched keys, ``crit``."""
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise Rejected("invalid_header", "the header names no algorithm")
    if alg.lower() == "none":
        raise Rejected("algorithm_refused", "unsigned JWS (alg none) are refused")
    names = set(header)
    if names & HEADER_KEYS:
        raise Rejected(
            "header_key_refused",
            "keys in the header are not honoured: the attestor's registered key is used",
        )
    if "crit" in names:
        raise Rejected("crit_refused", "no JWS extension is understood here (crit)")
    if names - HEADER_ALLOWED:
        unknown = ", ".join(sorted(names - HEADER_ALLOWED))[:100]
        raise Rejected("invalid_header", f"header parameters not understood: {unknown}")
    typ = header.get("typ")
    if typ is not None:
        kind = typ.lower().removeprefix("application/") if isinstance(typ, str) else ""
        if kind not in TYPES_ALLOWED:
            raise Rejected("invalid_header", "typ must be attestation+jwt (or JWT, or absent)")


def verify_signature(jws: str, header: dict[str, Any], algorithm: str, public_jwk: dict) -> dict:
    """The payload of ``jws`` if the attestor's key (pinned to ``algorithm``) signed it."""
    allowed = PINNED[algorithm]
    if header["alg"] not in allowed:
        raise Rejected(
            "algorithm_mismatch", f"the attestor's key signs with {' or '.join(allowed)} only"
        )
    key = crypto.load_public_jwk(public_jwk)
    try:
        payload = api_jws.decode(jws, key, algorithms=list(allowed))
    except jwt.InvalidSignatureError as exc:
        raise Rejected("invalid_signature", "the signature does not verify") from exc
    except jwt.InvalidTokenError as exc:
        raise Rejected("malformed_jws", "the JWS could not be verified") from exc
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise Rejected("malformed_jws", "the payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise Rejected("malformed_jws", "the payload must be a JSON object")
    return claims


def _number(claims: dict, name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected(f"invalid_{name}", f"{name} must be a NumericDate (seconds since 1970)")
    if not 0 <= value < 32503680000:  # before the year 3000: datetime would overflow later
        raise Rejected(f"invalid_{name}", f"{name} is out of range")
    return float(value)


def _when(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def check_claims(
    claims: dict[str, Any], *, issuer: str, claim_types: list[str], audience: str, now: dt.datetime
) -> Statement:
    """The statement in verified ``claims``; ``Rejected`` on the first claim that fails."""
    iss = claims.get("iss")
    if iss is not None and iss != issuer:
        raise Rejected("issuer_mismatch", "iss does not name the attestor whose key signed it")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.startswith(SUBJECT_PREFIX) or len(sub) > 80:
        raise Rejected("invalid_subject", "sub must be an agent principal, agent:<slug>")
    aud = claims.get("aud")
    if aud is not None:
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or audience not in audiences:
            raise Rejected("invalid_audience", f"aud, when present, must include {audience}")
    claim_type = claims.get("claim_type")
    if claim_type not in ClaimType.values:
        raise Rejected("invalid_claim_type", f"claim_type must be one of {ClaimType.values}")
    if claim_type not in claim_types:
        raise Rejected("claim_type_not_allowed", f"this attestor may not attest {claim_type}")
    result = claims.get("result")
    if result not in Result.values:
        raise Rejected("invalid_result", "result must be pass or fail")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not JTI_LENGTH[0] <= len(jti) <= JTI_LENGTH[1]:
        raise Rejected("invalid_jti", f"jti must be a string of {JTI_LENGTH[0]}–{JTI_LENGTH[1]}")
    issued_at, expires_at = _when(_number(claims, "iat")), _when(_number(claims, "exp"))
    if issued_at > now + CLOCK_SKEW:
        raise Rejected("issued_in_future", "iat is in the future")
    if expires_at <= now:
        raise Rejected("expired", "the attestation has expired (exp)")
    if expires_at <= issued_at:
        raise Rejected("invalid_exp", "exp must be after iat")
    if expires_at - issued_at > MAX_LIFETIME:
        raise Rejected("lifetime_too_long", f"exp - iat exceeds {MAX_LIFETIME.days} days")
    digest = claims.get("config_digest", "")
    if not isinstance(digest, str) or (digest and not _DIGEST.match(digest)):
        raise Rejected("invalid_config_digest", "config_digest must be sha256:<64 hex digits>")
    return Statement(
        agent_slug=sub.removeprefix(SUBJECT_PREFIX),
        claim_type=claim_type,
        result=result,
        jti=jti,
        issued_at=issued_at,
        expires_at=expires_at,
        config_digest=digest,
    )


def validate_attestor_jwk(jwk: Any) -> tuple[dict[str, Any], str, str]:
    """An attestor's public JWK: (public members, pinned algorithm, RFC 7638 thumbprint)."""
    public, algorithm, _ = crypto.validate_client_jwk(jwk)
    return public, algorithm, crypto.jwk_thumbprint(public)
