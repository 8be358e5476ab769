"""The platform signing key, lent to the audit log (named in settings, see ``audit.keys``)."""

from __future__ import annotations

from typing import Any

from audit.verifier import CHECKPOINT_TYP


def sign_checkpoint(claims: dict[str, Any]) -> str:
    """A compact JWS of checkpoint claims with the current platform key."""
    from credentials.signing import sign_jws

    return sign_jws(claims, typ=CHECKPOINT_TYP)


def public_jwks() -> dict[str, Any]:
    """Every platform key ever published, so that old checkpoints still verify."""
    from credentials.signing import public_jwks as jwks

    return jwks(include_retired=True)
