"""Small typed helpers over ``cryptography``: client secrets, keys, JWKs, key wrapping."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from django.conf import settings
from jwt.algorithms import ECAlgorithm, OKPAlgorithm
from jwt.exceptions import InvalidKeyError

# agcs_<credential id: 16 hex>_<secret: 64 hex = 256 bits>_<crc32 checksum: 8 hex>.
# The prefix makes a leaked secret findable by secret scanners; the id finds the row in O(1);
# the checksum lets a scanner (or the server) reject a mistyped or made-up string offline.
SECRET_PREFIX = "agcs_"
_SECRET_RE = re.compile(r"^agcs_([0-9a-f]{16})_([0-9a-f]{64})_([0-9a-f]{8})$")


def new_credential_id() -> str:
    return secrets.token_hex(8)


def _checksum(body: str) -> str:
    return f"{zlib.crc32(body.encode()) & 0xFFFFFFFF:08x}"


def format_secret(credential_id: str, secret: str) -> str:
    body = f"{SECRET_PREFIX}{credential_id}_{secret}"
    return f"{body}_{_checksum(body)}"


def new_client_secret(credential_id: str) -> str:
    """A fresh self-identifying client secret for ``credential_id`` (256 random bits)."""
    return format_secret(credential_id, secrets.token_hex(32))


@dataclass(frozen=True)
class ParsedSecret:
    credential_id: str
    secret: str


def parse_secret(value: str) -> ParsedSecret | None:
    """The credential id and random part of a well-formed secret, or None."""
    match = _SECRET_RE.match(value or "")
    if not match:
        return None
    credential_id, secret, checksum = match.groups()
    body = f"{SECRET_PREFIX}{credential_id}_{secret}"
    if not hmac.compare_digest(_checksum(body), checksum):
        return None
    return ParsedSecret(credential_id=credential_id, secret=secret)


def secret_hmac(credential_id: str, secret: str) -> str:
    """HMAC-SHA-256 of the secret under the server pepper, bound to the credential id."""
    pepper = settings.CREDENTIAL_SECRET_PEPPER.encode()
    return hmac.new(pepper, f"{credential_id}.{secret}".encode(), hashlib.sha256).hexdigest()


def secret_matches(stored_hmac: str, credential_id: str, secret: str) -> bool:
    return hmac.compare_digest(stored_hmac, secret_hmac(credential_id, secret))


# -- keys and JWKs --------------------------------------------------------------------------

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


def generate_private_key(algorithm: str) -> PrivateKey:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported signing algorithm {algorithm!r}")


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key_pem(pem: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError("unsupported key type")
    return key


def public_jwk_of(key: PrivateKey | PublicKey) -> dict[str, Any]:
    """The public JWK (RFC 7517) of a key: never the private part."""
    public = key.public_key() if hasattr(key, "private_bytes") else key
    if isinstance(public, ec.EllipticCurvePublicKey):
        jwk = json.loads(ECAlgorithm.to_jwk(public))
    else:
        jwk = json.loads(OKPAlgorithm.to_jwk(public))
    return {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y")}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url without padding."""
    if jwk.get("kty") == "EC":
        members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    elif jwk.get("kty") == "OKP":
        members = {k: jwk[k] for k in ("crv", "kty", "x")}
    else:
        raise ValueError("unsupported key type")
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


class Ed25519Algorithm(OKPAlgorithm):
    """RFC 9864's fully specified JWS algorithm ``Ed25519``: EdDSA with an Ed25519 key only.

    It deprecates the polymorphic ``EdDSA`` (Ed25519 or Ed448), and JOSE libraries now sign
    with it (joserfc warns on ``EdDSA``); PyJWT knows only ``EdDSA``. Registered in
    ``CredentialsConfig.ready``; ``jwt.decode`` still accepts only the algorithms it is given.
    """

    def prepare_key(self, key: Any) -> Any:
        key = super().prepare_key(key)
        if not isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
            raise InvalidKeyError("Ed25519 needs an Ed25519 key")
        return key


class InvalidJWK(ValueError):
    """A client public key we do not accept."""


def validate_client_jwk(jwk: Any) -> tuple[dict[str, Any], str, PublicKey]:
    """Check a client's public JWK; return (public members, pinned algorithm, key object)."""
    if not isinstance(jwk, dict):
        raise InvalidJWK("the public key must be a JWK object")
    if "d" in jwk:
        raise InvalidJWK("send the public key only: the private key never leaves the agent")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    try:
        if kty == "EC" and crv == "P-256":
            key = ECAlgorithm.from_jwk(json.dumps(jwk))
            algorithm = "ES256"
        elif kty == "OKP" and crv == "Ed25519":
            key = OKPAlgorithm.from_jwk(json.dumps(jwk))
            algorithm = "EdDSA"
        else:
            raise InvalidJWK("only P-256 (ES256) and Ed25519 (EdDSA) public keys are accepted")
    except InvalidJWK:
        raise
    except Exception as exc:  # malformed coordinates and the like
        raise InvalidJWK("the JWK is not a valid public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise InvalidJWK("the JWK is not a public key")
    return public_jwk_of(key), algorithm, key


@lru_cache(maxsize=64)
def _load_public_jwk(canonical: str) -> PublicKey:
    jwk = json.loads(canonical)
    if jwk["kty"] == "EC":
        return ECAlgorithm.from_jwk(canonical)
    return OKPAlgorithm.from_jwk(canonical)


def load_public_jwk(jwk: dict[str, Any]) -> PublicKey:
    """A public key object for a stored JWK (memoised: parsing costs more than verifying)."""
    return _load_public_jwk(json.dumps(jwk, sort_keys=True))


# -- wrapping signing keys at rest ----------------------------------------------------------


def _fernet() -> MultiFernet:
    keys = settings.SIGNING_KEY_ENCRYPTION_KEYS
    if not keys:
        raise RuntimeError("SIGNING_KEY_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def wrap(plaintext: bytes) -> str:
    """Encrypt with the newest wrapping key."""
    return _fernet().encrypt(plaintext).decode()


def unwrap(token: str) -> bytes:
    """Decrypt with whichever configured wrapping key made it."""
    return _fernet().decrypt(token.encode())


def rewrap(token: str) -> str:
    """Re-encrypt under the newest wrapping key (after a wrapping-key rotation)."""
    return _fernet().rotate(token.encode()).decode()


def new_jti() -> str:
    return secrets.token_urlsafe(18)
