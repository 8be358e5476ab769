"""The one way registry rows are edited: allowed fields only, validated, the diff audited."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from audit.changes import diff, snapshot
from audit.principals import By, actor_principal
from audit.services import record

from ..errors import RegistryError


def edit(
    instance: models.Model,
    *,
    data: Mapping[str, Any],
    fields: Iterable[str],
    by: By,
    action: str,
    resource: str,
    target_type: str,
    reason: str = "",
) -> models.Model:
    """Apply ``data`` (only ``fields``), validate, save what changed and audit the diff."""
    fields = tuple(fields)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RegistryError(f"cannot change {', '.join(unknown)} here")
    before = snapshot(instance, fields)
    for name, value in data.items():
        setattr(instance, name, value)
    instance.full_clean()
    changes = diff(before, snapshot(instance, fields))
    if not changes:
        return instance
    update = list(changes)
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        update.append("updated_at")
    instance.save(update_fields=update)
    record(
        actor=actor_principal(by),
        action=action,
        resource=resource,
        target_type=target_type,
        target_id=instance.pk,
        reason=reason,
        changes=changes,
    )
    return instance


def locked(model: type[models.Model], pk: int) -> Any:
    return model.objects.select_for_update().get(pk=pk)
