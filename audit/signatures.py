"""Checkpoint signatures: a compact JWS verified against the platform's public JWKS (PyJWT).

No Django: the offline verifier uses this. The algorithm is taken from the key (``alg``, else
by curve), never from the token's header.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from .canonical import CHECKPOINT_TYP
from .report import Checkpoint


def _b64json(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jws_header(token: str) -> dict[str, Any]:
    """The unverified protected header of a compact JWS."""
    return _b64json(token.split(".", 1)[0])


def _algorithm_of(jwk: Mapping[str, Any]) -> str:
    if jwk.get("alg"):
        return str(jwk["alg"])
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        return "ES256"
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return "EdDSA"
    raise ValueError(f"key {jwk.get('kid')!r}: cannot tell its algorithm")


class SignatureError(Exception):
    """A checkpoint whose JWS does not verify against the JWKS."""


def checkpoint_claims(token: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """Verify a checkpoint JWS against the JWKS (algorithm pinned by the key) and return claims."""
    import jwt  # PyJWT, with cryptography for the algorithms

    try:
        header = jws_header(token)
    except (ValueError, IndexError) as exc:
        raise SignatureError("malformed JWS") from exc
    kid = header.get("kid")
    key = next((k for k in jwks.get("keys", []) if k.get("kid") == kid), None)
    if key is None:
        raise SignatureError(f"no key {kid!r} in the JWKS")
    if header.get("typ") not in (None, CHECKPOINT_TYP):
        raise SignatureError(f"JWS type {header.get('typ')!r} is not {CHECKPOINT_TYP}")
    algorithm = _algorithm_of(key)
    if header.get("alg") != algorithm:
        raise SignatureError(f"JWS algorithm {header.get('alg')!r} is not the key's {algorithm}")
    try:
        public = jwt.PyJWK(dict(key), algorithm=algorithm).key
        claims = jwt.decode(
            token,
            public,
            algorithms=[algorithm],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise SignatureError(f"signature does not verify ({exc})") from exc
    if not isinstance(claims.get("seq"), int) or not isinstance(claims.get("hash"), str):
        raise SignatureError("claims lack seq and hash")
    return claims


def checkpoint_from_claims(claims: Mapping[str, Any]) -> Checkpoint:
    """The walk's view of a verified checkpoint: only what the signature states."""
    kind = str(claims.get("kind", "periodic"))
    iat = claims.get("iat")
    return Checkpoint(
        seq=int(claims["seq"]),
        hash=str(claims["hash"]),
        kind=kind,
        archived_through=claims.get("archived_through"),
        iat=iat if isinstance(iat, int) and not isinstance(iat, bool) else None,
    )
