"""Offline verification of an RFC 9068 access token against the issuer's JWKS."""

from __future__ import annotations

from typing import Any

import jwt

from .jwks import JWKSCache

ACCESS_TOKEN_TYP = "at+jwt"


class TokenRejected(Exception):
    """The token fails offline verification; ``reason`` is a short machine code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_access_token(
    token: str, *, jwks: JWKSCache, issuer: str, audience: str, leeway: int = 5
) -> dict[str, Any]:
    """The claims of a valid token, or ``TokenRejected``. The algorithm is the key's, never the
    token's. Revocation is not visible offline: that is what the decision point is asked for."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 8192:
        raise TokenRejected("malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise TokenRejected("malformed") from None
    if header.get("typ") != ACCESS_TOKEN_TYP or not isinstance(header.get("kid"), str):
        raise TokenRejected("malformed")
    found = jwks.key(header["kid"])
    if found is None:
        raise TokenRejected("unknown_key")
    key, alg = found
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("expired") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected("wrong_audience") from None
    except jwt.InvalidIssuerError:
        raise TokenRejected("wrong_issuer") from None
    except jwt.InvalidTokenError:
        raise TokenRejected("invalid") from None
