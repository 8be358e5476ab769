"""An observed configuration: one digest one agent presented, when, and who reviewed it."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from . import DIGEST_PATTERN


class ObservedConfiguration(models.Model):
    """A configuration digest an agent presented that matched no reviewed version of it."""

    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="observed_configurations"
    )
    digest = models.CharField(
        max_length=71, validators=[RegexValidator(DIGEST_PATTERN, "Use sha256:<64 hex digits>.")]
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    # Moved at most once a minute (``services.SEEN_GRANULARITY``), not on every token request.
    last_seen_at = models.DateTimeField(default=timezone.now)
    seen_via = models.CharField(max_length=32, blank=True)  # form parameter or assertion claim
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "digest"], name="observed_config_once"),
        ]
        indexes = [
            models.Index(
                fields=["agent"],
                condition=models.Q(reviewed_at__isnull=True),
                name="observed_config_unreviewed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.digest[:19]}…"

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_at is not None
