"""The trust policy: read the version in force, and change it (a new immutable version).

Every change is validated as a whole (``TrustPolicy.full_clean``: each field's bounds, weights
summing to 100, PENDING below TRUSTED) and refused with field errors; an accepted change is a
new row with the next version number, audited with what changed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms.models import model_to_dict

from agents.permissions import is_platform_admin
from audit.principals import By, actor_principal
from audit.services import record

from .models import TrustPolicy

# The fields a change may set: everything but the bookkeeping.
EDITABLE = tuple(
    f.name
    for f in TrustPolicy._meta.concrete_fields
    if f.name not in {"id", "version", "created_at", "created_by", "reason"}
)


def current_policy() -> TrustPolicy:
    """The version in force; before any is stored, the defaults (unsaved, version 0)."""
    return TrustPolicy.objects.order_by("-version").first() or TrustPolicy(version=0)


def policy_in_force() -> TrustPolicy:
    """The version in force, stored: the defaults become version 1 the first time they are used."""
    policy = TrustPolicy.objects.order_by("-version").first()
    if policy is not None:
        return policy
    with transaction.atomic():
        policy, created = TrustPolicy.objects.get_or_create(
            version=1, defaults={"created_by": "system", "reason": "the default policy"}
        )
        if created:
            record(
                actor="system",
                action="trust.policy_change",
                target_type="trust_policy",
                target_id=policy.version,
                reason=policy.reason,
                changes={name: [None, getattr(policy, name)] for name in EDITABLE},
            )
    return policy


def values_of(policy: TrustPolicy) -> dict[str, Any]:
    return model_to_dict(policy, fields=EDITABLE)


@transaction.atomic
def trust_policy_change(*, by: By, reason: str, changes: dict[str, Any]) -> TrustPolicy:
    """Store a new policy version with ``changes`` over the one in force (platform admins)."""
    if by != "system" and not is_platform_admin(by):
        raise PermissionDenied("only platform admins change the trust policy")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    if not (reason or "").strip():
        raise ValidationError({"reason": "A policy change needs a reason."})
    # Lock the newest row so two changes at once get distinct, consecutive versions.
    latest = TrustPolicy.objects.select_for_update().order_by("-version").first()
    before = values_of(latest) if latest else values_of(TrustPolicy())
    policy = TrustPolicy(
        **{**before, **changes},
        version=(latest.version if latest else 0) + 1,
        created_by=actor_principal(by),
        reason=reason.strip(),
    )
    policy.full_clean(exclude=["version"])
    diff = {k: [before[k], getattr(policy, k)] for k in EDITABLE if before[k] != getattr(policy, k)}
    if not diff:
        raise ValidationError({"non_field_errors": "The change changes nothing."})
    policy.save()
    record(
        actor=actor_principal(by),
        action="trust.policy_change",
        target_type="trust_policy",
        target_id=policy.version,
        reason=policy.reason,
        changes=diff,
    )
    return policy
