"""Editing the review policy (one row), audited with before and after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from agents.permissions import is_platform_admin
from audit.changes import diff, snapshot
from audit.principals import By, actor_principal
from audit.services import record

from ..errors import ReviewForbidden
from ..models import ReviewPolicy

POLICY_FIELDS = (
    "every_days", "schedule_enabled", "due_days", "unused_days", "dormant_days", "ladder",
    "outcome_low", "outcome_sensitive", "outcome_critical", "rubber_stamp_seconds",
    "rubber_stamp_keep_ratio", "rubber_stamp_min_items",
)  # fmt: skip


@transaction.atomic
def review_policy_update(*, data: Mapping[str, Any], by: By) -> ReviewPolicy:
    """Change the review policy (platform admins); raises ValidationError on bad values."""
    if not isinstance(by, str) and not is_platform_admin(by):
        raise ReviewForbidden("only platform admins change the review policy")
    ReviewPolicy.current()
    policy = ReviewPolicy.objects.select_for_update().get(pk=1)
    unknown = sorted(set(data) - set(POLICY_FIELDS))
    if unknown:
        raise ReviewForbidden(f"cannot change {', '.join(unknown)} here")
    before = snapshot(policy, POLICY_FIELDS)
    for name, value in data.items():
        setattr(policy, name, value)
    policy.full_clean()
    changes = diff(before, snapshot(policy, POLICY_FIELDS))
    if changes:
        policy.save()
        record(
            actor=actor_principal(by),
            action="review.policy.update",
            resource="review:policy",
            target_type="review_policy",
            target_id=policy.pk,
            changes=changes,
        )
    return policy
