"""Attestors with real keys, and statements signed by a separate JOSE library (joserfc).

Our verification uses PyJWT; the valid statements here are made by joserfc, so a shared
misreading of RFC 7515 could not make the tests pass.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey

from trust.attestations.services import attestor_register

CLAIMS = ["security_audit", "config_scan"]


@dataclass
class Signer:
    """An attestor's private key (joserfc) and what its statements name it by."""

    name: str
    key: Any
    alg: str

    @property
    def public_jwk(self) -> dict:
        return self.key.as_dict(private=False)

    def claims(self, agent, **overrides) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.name,
            "sub": f"agent:{agent.slug}",
            "jti": secrets.token_urlsafe(12),
            "iat": now - 10,
            "exp": now + 30 * 86400,
            "claim_type": "security_audit",
            "result": "pass",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, agent, header: dict | None = None, **claims) -> str:
        protected = {"alg": self.alg, "typ": "attestation+jwt", **(header or {})}
        return jose_jwt.encode(
            protected, self.claims(agent, **claims), self.key, algorithms=[protected["alg"]]
        )


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def ed25519_signer(name: str = "acme-audit") -> Signer:
    return Signer(name, OKPKey.generate_key("Ed25519"), "Ed25519")


def p256_signer(name: str = "scanly") -> Signer:
    return Signer(name, ECKey.generate_key("P-256"), "ES256")


def register(signer: Signer, *, cap: int = 20, claim_types=None, **kwargs):
    return attestor_register(
        name=signer.name,
        display_name=signer.name.replace("-", " ").title(),
        public_jwk=signer.public_jwk,
        claim_types=claim_types or CLAIMS,
        cap=cap,
        by="system",
        **kwargs,
    )
