"""A JWKS cache: keys by ``kid``, refreshed on a TTL and on an unknown ``kid`` (key rotation).

An unknown ``kid`` triggers at most one fetch per ``min_refetch_seconds``, so a flood of forged
kids cannot turn the resource server into a load generator against the issuer.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import jwt


class JWKSError(Exception):
    """The JWKS could not be fetched or parsed."""


class JWKSCache:
    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float = 300,
        min_refetch_seconds: float = 10,
        timeout: float = 5,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the JWKS URL must be http(s)")
        self.url = url
        self.ttl = ttl_seconds
        self.min_refetch = min_refetch_seconds
        self.timeout = timeout
        self._keys: dict[str, tuple[Any, str]] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        self.fetches = 0  # how many times the JWKS was fetched (observability, tests)

    def _fetch(self) -> None:
        req = urllib.request.Request(self.url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                document = json.loads(resp.read(1_000_000))
        except (OSError, ValueError) as exc:
            raise JWKSError(f"cannot fetch the JWKS from {self.url}: {exc}") from exc
        keys: dict[str, tuple[Any, str]] = {}
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            kid, alg = jwk.get("kid"), jwk.get("alg")
            if (
                not isinstance(kid, str)
                or alg not in ("ES256", "EdDSA")
                or jwk.get("use")
                not in (
                    None,
                    "sig",
                )
            ):
                continue
            try:
                keys[kid] = (jwt.PyJWK(jwk, algorithm=alg).key, alg)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                continue
        self._keys = keys
        self._fetched_at = time.monotonic()
        self.fetches += 1

    def key(self, kid: str) -> tuple[Any, str] | None:
        """(public key, pinned algorithm) for ``kid``, fetching the JWKS if stale or unknown."""
        now = time.monotonic()
        with self._lock:
            stale = now - self._fetched_at > self.ttl
            unknown = kid not in self._keys and now - self._fetched_at > self.min_refetch
            if stale or unknown:  # an unknown kid: a rotation published a key we have not seen
                try:
                    self._fetch()
                except JWKSError:
                    if kid not in self._keys:
                        raise
                    # The issuer is unreachable but this key was published: keep using it.
            return self._keys.get(kid)
