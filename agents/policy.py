"""The organisation policy: one row of limits and switches every layer reads.

Imported by ``agents.models`` (load that first: this module builds on ``TrustLevel``).
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from .models import TrustLevel


class OrganisationPolicy(models.Model):
    """The organisation's policy: one row, read by every layer, edited by platform admins.

    It lives in the registry (the leftmost app every other app may import) so that credentials,
    trust and governance read the same row without importing each other.
    """

    access_token_lifetime_seconds = models.PositiveIntegerField(default=300)
    max_delegation_depth = models.PositiveSmallIntegerField(default=2)
    credential_max_age_days = models.PositiveIntegerField(default=90)
    rotation_overlap_hours = models.PositiveIntegerField(default=24)
    org_trust_floor = models.CharField(
        max_length=10, choices=TrustLevel.choices, default=TrustLevel.PENDING
    )
    approval_window_minutes = models.PositiveIntegerField(default=15)
    approval_expiry_hours = models.PositiveIntegerField(default=24)
    # Governed grants: a critical scope is granted for at most this long, by request only.
    critical_grant_max_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1)]
    )
    # Nobody decides the decision point's approval request for a critical scope of an agent of
    # their own team (a reviewer or admin outside it does).
    approval_separation_of_duties = models.BooleanField(default=True)
    log_only_rules = models.JSONField(default=list, blank=True)
    # An UNTRUSTED (quarantined) agent gets no new token at all, not only denials.
    quarantine_blocks_tokens = models.BooleanField(default=True)
    # Drift: only a reviewer or admin outside the owning team may review a configuration.
    config_review_requires_reviewer = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "organisation policy"

    def __str__(self) -> str:
        return "Organisation policy"

    @classmethod
    def current(cls) -> OrganisationPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy
