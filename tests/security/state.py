"""What "changed nothing" means for the hardening tests: the rows of every table of ours."""

from __future__ import annotations

from django.apps import apps

from audit.models import AuditEntry

APPS = ("agents", "credentials", "trust", "decisions", "approvals", "audit")


def table_counts() -> dict[str, int]:
    """Rows per model of our apps; of the audit log only the successful entries (a refusal is
    rightly recorded as a failure or a denial)."""
    out = {}
    for config in apps.get_app_configs():
        if config.label not in APPS:
            continue
        for model in config.get_models():
            if model is AuditEntry:
                continue
            out[model._meta.label] = model._default_manager.count()
    out["audit:success"] = AuditEntry.objects.filter(outcome="success").count()
    return out


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {k: (before.get(k, 0), after.get(k, 0)) for k in after if before.get(k) != after[k]}
