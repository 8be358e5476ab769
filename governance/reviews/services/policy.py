"""Editing the review policy (one row), audited with before and after by the registry's one
edit helper (``agents.services.edits.edit``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from agents.permissions import is_platform_admin
from agents.services.edits import edit, locked
from audit.principals import By

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
    return edit(
        locked(ReviewPolicy, 1),
        data=data,
        fields=POLICY_FIELDS,
        by=by,
        action="review.policy.update",
        resource="review:policy",
        target_type="review_policy",
    )
