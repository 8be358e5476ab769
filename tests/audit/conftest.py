"""Fixtures of the audit tests: a real signing key (cryptography) and its JWKS."""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from audit.verifier import CHECKPOINT_TYP


class CheckpointKey:
    """A P-256 key that signs checkpoints as the platform key would (``kid`` and ``typ``)."""

    def __init__(self, kid: str = "audit-test-key") -> None:
        self.kid = kid
        self.private = ec.generate_private_key(ec.SECP256R1())

    def sign(self, claims: dict) -> str:
        return jwt.encode(
            claims,
            self.private,
            algorithm="ES256",
            headers={"kid": self.kid, "typ": CHECKPOINT_TYP},
        )

    @property
    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}]}


@pytest.fixture
def signing_key() -> CheckpointKey:
    return CheckpointKey()


@pytest.fixture
def jwks_file(tmp_path, signing_key):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(signing_key.jwks))
    return path
