"""Writing audit entries. Every service that changes state calls ``record()`` in its transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import context
from .models import AuditEntry

REDACTED = "[redacted]"
_SECRET_MARKERS = ("secret", "password", "private", "token", "pepper", "assertion")


def redact(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` with anything that looks like a secret replaced."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if any(marker in key.lower() for marker in _SECRET_MARKERS) and not key.endswith("_id"):
            out[key] = REDACTED
        elif isinstance(value, Mapping):
            out[key] = redact(value)
        else:
            out[key] = value
    return out


def record(
    *,
    actor: str,
    action: str,
    outcome: str = AuditEntry.Outcome.SUCCESS,
    reason: str = "",
    resource: str = "",
    target_type: str = "",
    target_id: str | int = "",
    actor_id: str | int = "",
    on_behalf_of: Iterable[str] = (),
    workflow_run: str = "",
    token_jti: str = "",
    credential_id: str | int = "",
    changes: Mapping[str, Any] | None = None,
    context_data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry; raises if it cannot be written, so the caller's action rolls back."""
    ctx = context.current()
    return AuditEntry.objects.create(
        actor=actor,
        actor_id=str(actor_id),
        on_behalf_of=list(on_behalf_of),
        action=action,
        outcome=outcome,
        reason=reason,
        resource=resource,
        target_type=target_type,
        target_id=str(target_id),
        workflow_run=workflow_run,
        token_jti=token_jti,
        credential_id=str(credential_id),
        request_id=ctx.request_id,
        source_ip=ctx.source_ip,
        changes=redact(changes or {}),
        context=redact(context_data or {}),
    )
