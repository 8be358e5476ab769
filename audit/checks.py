"""``check --deploy``: production has a witness, or the log's signatures protect it from no one
who can write the database (docs/audit.md, "What the verifier proves")."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning


@register(Tags.security, deploy=True)
def witness_configured(app_configs, **kwargs) -> list[CheckWarning]:
    if settings.AUDIT_WITNESS_URL:
        return []
    return [
        CheckWarning(
            "No audit witness: AUDIT_WITNESS_URL is empty.",
            hint="Without a copy of the signed checkpoints outside the database, whoever can "
            "write it can delete the checkpoints with the entries they cover, undetected. "
            "Point AUDIT_WITNESS_URL at an append-only file on another host or at an HTTP "
            "witness (docs/operations.md).",
            id="audit.W001",
        )
    ]
