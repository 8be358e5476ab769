"""Signing and verifying compact JWS with the platform's signing keys.

The algorithm is pinned per key: a verifier looks the key up by ``kid`` and accepts exactly that
key's algorithm, never the one the token names. Key objects are memoised per process (a key's
material never changes); which key is *current* is re-read every few seconds, which is safe
because the next key is published in the JWKS long before it starts signing. These memos are a
process cache (``process_caches``): forgotten with the others, off with them, on its clock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import jwt
from django.db.models import Q
from django.utils import timezone

from . import crypto, process_caches
from .models import SigningKey

CURRENT_KEY_TTL_SECONDS = 5.0


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    algorithm: str
    public: crypto.PublicKey


_lock = threading.Lock()
_public: dict[str, tuple[float, LoadedKey]] = {}
_private: dict[str, crypto.PrivateKey] = {}
_current: tuple[float, str, str] | None = None  # (loaded at, kid, algorithm)


def forget() -> None:
    """Drop this process's memos of the keys (after a rotation; ``process_caches.forget_all``)."""
    global _current
    with _lock:
        _current = None
        _public.clear()
        _private.clear()


process_caches.register("credentials.signing_keys", forget)


def _current_key() -> tuple[str, str, crypto.PrivateKey]:
    global _current
    cached = _current if process_caches.enabled() else None
    if cached is None or process_caches.monotonic() - cached[0] > CURRENT_KEY_TTL_SECONDS:
        key = SigningKey.objects.filter(status=SigningKey.Status.CURRENT).first()
        if key is None:
            from .services.keys import signing_key_bootstrap

            key = signing_key_bootstrap()
        if not process_caches.enabled():
            private = crypto.load_private_key_pem(crypto.unwrap(key.private_key_encrypted))
            return key.kid, key.algorithm, private
        with _lock:
            if key.kid not in _private:
                _private[key.kid] = crypto.load_private_key_pem(
                    crypto.unwrap(key.private_key_encrypted)
                )
            _current = cached = (process_caches.monotonic(), key.kid, key.algorithm)
    _, kid, algorithm = cached
    return kid, algorithm, _private[kid]


def sign_jws(claims: dict[str, Any], *, typ: str) -> str:
    """A compact JWS of ``claims`` signed with the current platform key, ``kid`` in the header."""
    kid, algorithm, private_key = _current_key()
    return jwt.encode(claims, private_key, algorithm=algorithm, headers={"kid": kid, "typ": typ})


def current_kid() -> str:
    return _current_key()[0]


def verification_key(kid: str) -> LoadedKey | None:
    """The public key and pinned algorithm for ``kid``, if it is still published.

    Memoised for a few seconds only, so a key withdrawn as compromised stops verifying in
    every process within ``CURRENT_KEY_TTL_SECONDS``.
    """
    memo = _public.get(kid) if process_caches.enabled() else None
    if memo is not None and process_caches.monotonic() - memo[0] <= CURRENT_KEY_TTL_SECONDS:
        return memo[1]
    row = (
        SigningKey.objects.filter(kid=kid)
        .exclude(status=SigningKey.Status.EXPIRED)
        .values("algorithm", "public_jwk")
        .first()
    )
    if row is None:
        return None
    loaded = LoadedKey(
        kid=kid, algorithm=row["algorithm"], public=crypto.load_public_jwk(row["public_jwk"])
    )
    if process_caches.enabled():
        with _lock:
            _public[kid] = (process_caches.monotonic(), loaded)
    return loaded


def verify_jws(token: str, *, typ: str, **options: Any) -> dict[str, Any]:
    """Verify a JWS made by ``sign_jws``; raises ``jwt.InvalidTokenError`` subclasses."""
    header = jwt.get_unverified_header(token)
    if header.get("typ") != typ:
        raise jwt.InvalidTokenError(f"typ is not {typ}")
    kid = header.get("kid")
    loaded = verification_key(kid) if isinstance(kid, str) else None
    if loaded is None:
        raise jwt.InvalidSignatureError("unknown kid")
    return jwt.decode(token, loaded.public, algorithms=[loaded.algorithm], **options)


def _jwk(key: SigningKey) -> dict[str, Any]:
    return {**key.public_jwk, "kid": key.kid, "alg": key.algorithm, "use": "sig"}


def public_jwks(*, include_retired: bool = False) -> dict[str, Any]:
    """The public keys as a JWKS: next, current and retired-but-unexpired keys.

    ``include_retired=True`` adds keys whose tokens have all expired, for offline verification
    of old signatures (audit checkpoints).
    """
    now = timezone.now()
    keys = SigningKey.objects.all()
    if not include_retired:
        keys = keys.exclude(status=SigningKey.Status.EXPIRED).filter(
            Q(publish_until__isnull=True) | Q(publish_until__gt=now)
        )
    order = {"current": 0, "next": 1, "retired": 2, "expired": 3}
    rows = sorted(keys, key=lambda k: (order[k.status], -k.created_at.timestamp()))
    return {"keys": [_jwk(k) for k in rows]}
