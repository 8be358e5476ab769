"""What "changed nothing" means for the hardening tests: every row of every table of ours, by
content, not only by count (a refused request that flipped a status or renamed an agent would
leave the counts as they were)."""

from __future__ import annotations

import hashlib

from django.apps import apps

from audit.models import AuditEntry

# Our apps are the ones whose code lives in the project's packages (governance.* included),
# so a new app is covered the day it exists.
PACKAGES = ("agents", "credentials", "trust", "audit", "governance")


# Bookkeeping a request may rightly write whatever its answer: the caller's own API token notes
# when it was last used (at most once a minute), a refused request included.
BOOKKEEPING = {"agents.ApiToken": {"last_used_at"}}


def _models():
    for config in apps.get_app_configs():
        if config.name.split(".")[0] in PACKAGES:
            yield from config.get_models()


def _digest(queryset) -> str:
    skip = BOOKKEEPING.get(queryset.model._meta.label, set())
    fields = [f.attname for f in queryset.model._meta.concrete_fields if f.name not in skip]
    rows = hashlib.sha256()
    for row in queryset.order_by("pk").values_list(*fields):
        rows.update(repr(row).encode())
    return rows.hexdigest()[:16]


def table_state() -> dict[str, tuple[int, str]]:
    """Per model of our apps, its row count and a digest of every row's values; of the audit
    log only the successful entries (a refusal is rightly recorded as a failure or a denial)."""
    out = {}
    for model in _models():
        if model is AuditEntry:
            continue
        rows = model._default_manager.all()
        out[model._meta.label] = (rows.count(), _digest(rows))
    successes = AuditEntry.objects.filter(outcome="success")
    out["audit:success"] = (successes.count(), _digest(successes))
    return out


def changed(before: dict, after: dict) -> dict[str, tuple]:
    """The models whose rows differ, with their (count, digest) before and after."""
    return {k: (before.get(k), after.get(k)) for k in after if before.get(k) != after[k]}
