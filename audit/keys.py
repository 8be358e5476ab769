"""Where the audit log gets its signer and the public JWKS: callables named in settings.

``audit`` imports no other app, so the project wires the platform signing key in by dotted path:
``AUDIT_CHECKPOINT_SIGNER`` (``claims -> compact JWS``) and ``AUDIT_JWKS_PROVIDER``
(``() -> JWKS dict``, retired keys included so old checkpoints still verify).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .services import Signer


def _callable(path: str, name: str) -> Any:
    if not path:
        raise ImproperlyConfigured(f"{name} is not set")
    return import_string(path)


def signer() -> Signer:
    return _callable(settings.AUDIT_CHECKPOINT_SIGNER, "AUDIT_CHECKPOINT_SIGNER")


def public_jwks() -> dict[str, Any]:
    return _callable(settings.AUDIT_JWKS_PROVIDER, "AUDIT_JWKS_PROVIDER")()
