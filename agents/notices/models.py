"""Notices, their per-user read state, and the transactional outbox that delivers them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .querysets import NoticeQuerySet, OutboxQuerySet

kind_validator = RegexValidator(
    r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$",
    "A notice kind is dotted lowercase words, such as credential.rotation_due.",
)


class NoticeKind(models.TextChoices):
    """The kinds raised today. ``Notice.kind`` is open (no choices): an app adds a kind by
    raising it, without a migration here; these give the known ones a label and a constant."""

    ROTATION_DUE = "credential.rotation_due", "Credential rotation due"
    CREDENTIAL_EXPIRED = "credential.expired", "Credential expired"
    TRUST_LEVEL_CHANGED = "trust.level_changed", "Trust level changed"
    CONFIG_DRIFT = "agent.config_drift", "Unreviewed configuration"
    QUARANTINED = "agent.quarantined", "Agent quarantined"
    APPROVAL_WAITING = "approval.waiting", "Approval waiting"
    APPROVAL_APPROVED = "approval.approved", "Approval granted"
    APPROVAL_DENIED = "approval.denied", "Approval refused"
    REVIEW_ASSIGNED = "review.assigned", "Access review assigned"
    REVIEW_OVERDUE = "review.overdue", "Access review overdue"


class Notice(models.Model):
    """Something a team or a person should look at; read state is per user (``NoticeRead``)."""

    kind = models.CharField(max_length=64, validators=[kind_validator])
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # A path inside this site (``/portal/agents/x/``) or an absolute https URL.
    link = models.CharField(max_length=500, blank=True)
    team = models.ForeignKey(
        "agents.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notices",
    )
    # With ``kind``, names the event: raising it again returns the first notice (beat re-runs).
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False, user__isnull=True)
                | Q(team__isnull=True, user__isnull=False),
                name="notice_to_team_or_user",
            ),
            models.UniqueConstraint(
                fields=["kind", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notice_dedupe_once",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notice_user_recent"),
            models.Index(fields=["team", "-created_at"], name="notice_team_recent"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def kind_label(self) -> str:
        try:
            return NoticeKind(self.kind).label
        except ValueError:
            return self.kind.replace("_", " ").replace(".", ": ").capitalize()

    @property
    def recipient(self) -> str:
        return f"team:{self.team.slug}" if self.team_id else f"user:{self.user.get_username()}"


class NoticeRead(models.Model):
    """One user has read one notice (a team notice is read by each member separately)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "notice"], name="notice_read_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.notice_id}"


class OutboxMessage(models.Model):
    """A message to deliver, written in the transaction of the change that caused it.

    Delivery claims the row with one conditional UPDATE (a lease), so a queued task, its retry
    and the beat sweep never send it twice; a row is done when ``delivered_at`` (sent) or
    ``failed_at`` (gave up after ``MAX_ATTEMPTS``) is set, and until then the sweep finds it.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"

    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    notice = models.ForeignKey(
        Notice, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox"
    )
    payload = models.JSONField(default=dict, blank=True)  # for channels without a notice
    created_at = models.DateTimeField(default=timezone.now)
    # Not before: a failed attempt pushes it back (exponential backoff).
    available_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["available_at"],
                condition=Q(delivered_at__isnull=True, failed_at__isnull=True),
                name="outbox_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk}"

    @property
    def state(self) -> str:
        if self.delivered_at:
            return "delivered"
        if self.failed_at:
            return "failed"
        return "pending"
