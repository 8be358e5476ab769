"""Reads of the credential service, composed for the API, the admin and the CLI."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken
from django.db.models import Q, QuerySet

from agents.models import Agent, Resource

from . import crypto
from .models import Credential, SigningKey
from .services import IssuedCredential


def credentials_of(
    *, agent: Agent | None = None, resource: Resource | None = None
) -> QuerySet[Credential]:
    principal = Q(agent=agent) if agent is not None else Q(resource=resource)
    return Credential.objects.filter(principal).select_related("agent", "resource")


def credential_json(credential: Credential) -> dict[str, Any]:
    """What may be shown about a credential: never the secret or its HMAC."""
    return {
        "id": credential.pk,
        "client_id": credential.client_id,
        "principal": credential.principal,
        "kind": credential.kind,
        "label": credential.label,
        "status": credential.status,
        "algorithm": credential.algorithm or None,
        "jwk_thumbprint": credential.jwk_thumbprint or None,
        "public_jwk": credential.public_jwk or None,
        "not_before": credential.not_before,
        "expires_at": credential.expires_at,
        "last_used_at": credential.last_used_at,
        "created_at": credential.created_at,
        "created_by": credential.created_by_principal,
        "predecessor": credential.predecessor_id,
    }


def issued_credential_json(issued: IssuedCredential) -> dict[str, Any]:
    body = credential_json(issued.credential)
    if issued.secret is not None:
        body["client_secret"] = issued.secret  # shown once: this response is the only copy
    return body


def signing_key_usable() -> bool:
    """A current signing key exists and the configured wrapping keys open it (for /readyz):
    without both, no token can be signed. Reads and decrypts; creates nothing."""
    key = SigningKey.objects.filter(status=SigningKey.Status.CURRENT).first()
    if key is None:
        return False
    try:
        crypto.unwrap(key.private_key_encrypted)
    except InvalidToken:  # wrapped with a key that is no longer configured
        return False
    return True
