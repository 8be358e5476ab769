"""Trust models: the policy's versions, pins, computed scores' history and review outcomes.

The current score and level live on ``agents.Agent`` (read by introspection and the decision
point without importing ``trust``); this app is their only writer.
"""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from agents.models import Agent, TrustLevel

from .usage.models import EVIDENCE_DAYS


class AgentTrust(Agent):
    """The agent seen through its trust fields: what the admin's trust page shows."""

    class Meta:
        proxy = True
        verbose_name = "agent trust level"
        verbose_name_plural = "agent trust levels"


def _pct(default: int, help_text: str = "") -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        default=default, validators=[MaxValueValidator(100)], help_text=help_text
    )


def _days(default: int, low: int, high: int, help_text: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        default=default,
        validators=[MinValueValidator(low), MaxValueValidator(high)],
        help_text=help_text,
    )


class TrustPolicy(models.Model):
    """One immutable version of the trust policy; the newest is in force.

    A change is a new row (``trust.policy.trust_policy_change``), never an edit, so every stored
    computation names the exact weights and thresholds it was judged by.
    """

    version = models.PositiveIntegerField(unique=True, editable=False)
    # Weights of the four components, in points of the 0–100 score (they sum to 100).
    weight_identity = _pct(40, "Points of the score from identity.")
    weight_behaviour = _pct(25, "Points of the score from behaviour.")
    weight_compliance = _pct(20, "Points of the score from compliance posture.")
    weight_attestations = _pct(15, "Points of the score from attestations.")
    # Levels: score >= trusted_min is TRUSTED, >= pending_min PENDING, below UNTRUSTED.
    trusted_min = _pct(75, "Lowest score that is TRUSTED.")
    pending_min = _pct(50, "Lowest score that is PENDING.")
    # Caps: a computed TRUSTED is held at PENDING while one of these holds.
    cap_unreviewed_version = models.BooleanField(
        default=True, help_text="Hold at PENDING while a newer version is unreviewed."
    )
    cap_config_drift = models.BooleanField(
        default=True, help_text="Hold at PENDING while an unreviewed configuration is observed."
    )
    # Identity and compliance.
    credential_max_age_days = _days(90, 1, 3650, "Credential age the identity signal allows.")
    # Behaviour.
    behaviour_window_days = _days(7, 1, 90, "Window of the denial and authentication signals.")
    volume_window_hours = _days(24, 1, 168, "Recent closed hours judged against the baseline.")
    learning_weeks = _days(2, 1, 26, "Weeks of history before baselines judge.")
    volume_ratio_max = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(1.5), MaxValueValidator(1000.0)],
        help_text="An hour above this multiple of the usual volume is unusual.",
    )
    min_decisions = _days(20, 1, 100000, "Decisions in the window before a denial rate is judged.")
    denial_rate_max = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of denied decisions above which behaviour loses the factor.",
    )
    auth_failures_max = _days(10, 0, 100000, "Failed client authentications allowed in the window.")
    new_resource_days = _days(7, 1, 90, "A resource first used within this many days is new.")
    # Pins.
    pin_max_days = _days(30, 1, 365, "Longest a pin may last.")
    # Retention (``trust.retention``): what the daily prune keeps.
    history_keep_days = _days(
        30, 1, 3650, "History rows older than this are deleted (each agent's latest is kept)."
    )
    level_change_keep_days = _days(
        365, 1, 3650, "History rows that changed the level are kept this long."
    )
    usage_keep_days = _days(
        100,
        EVIDENCE_DAYS,
        3650,
        f"Hourly usage counters older than this are deleted (access reviews count uses over "
        f"{EVIDENCE_DAYS} days; last use is kept for ever).",
    )
    # Who and why.
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200)
    reason = models.TextField()

    class Meta:
        ordering = ["-version"]
        verbose_name = "trust policy version"
        verbose_name_plural = "trust policy"

    def __str__(self) -> str:
        return f"trust policy v{self.version}"

    WEIGHTS = ("weight_identity", "weight_behaviour", "weight_compliance", "weight_attestations")

    def weight(self, component: str) -> int:
        return getattr(self, f"weight_{component}")

    def clean(self) -> None:
        errors: dict[str, str] = {}
        values = [getattr(self, name) for name in (*self.WEIGHTS, "pending_min", "trusted_min")]
        if not all(isinstance(v, int) for v in values):
            return  # a field's own error says what is wrong with it
        total = sum(getattr(self, name) for name in self.WEIGHTS)
        if total != 100:
            for name in self.WEIGHTS:
                errors[name] = f"The four weights must sum to 100 (they sum to {total})."
        if self.pending_min >= self.trusted_min:
            errors["pending_min"] = "The PENDING threshold must be below the TRUSTED threshold."
        errors.update(self._retention_errors())
        if errors:
            raise ValidationError(errors)

    def _retention_errors(self) -> dict[str, str]:
        """Windows the prune must not cut into: what the signals still read."""
        values = (
            self.history_keep_days,
            self.level_change_keep_days,
            self.usage_keep_days,
            self.behaviour_window_days,
            self.volume_window_hours,
        )
        if not all(isinstance(v, int) for v in values):
            return {}
        errors = {}
        if self.level_change_keep_days < self.history_keep_days:
            errors["level_change_keep_days"] = (
                "Level changes must be kept at least as long as the rest of the history "
                f"({self.history_keep_days} days)."
            )
        needed = max(self.behaviour_window_days, math.ceil(self.volume_window_hours / 24))
        if self.usage_keep_days < needed:
            errors["usage_keep_days"] = (
                f"The behaviour signals read {needed} days of hourly counters; keep at least that."
            )
        return errors


class TrustPin(models.Model):
    """A level set by a person for a while, with a reason; shown as a pin, never as a score."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="trust_pins")
    level = models.CharField(max_length=10, choices=TrustLevel.choices)
    reason = models.TextField()
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    # Set when the pin stops applying: released by a person, replaced, or expired (by the sweep).
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"], condition=Q(ended_at__isnull=True), name="trustpin_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} pinned {self.level} until {self.expires_at:%Y-%m-%d %H:%M}"


class TrustComputation(models.Model):
    """One computed score, kept as history; a row is written when the outcome changed.

    ``factors`` holds each factor's ``Factor.as_json()`` plus ``points`` (its contribution to
    the score); ``fingerprint`` digests the outcome (level, score, each factor's code, status and
    points), so an unchanged recomputation writes nothing.
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="trust_history")
    computed_at = models.DateTimeField()
    score = models.PositiveSmallIntegerField()
    computed_level = models.CharField(max_length=10, choices=TrustLevel.choices)
    level = models.CharField(max_length=10, choices=TrustLevel.choices)
    caps = models.JSONField(default=list, blank=True)
    pin = models.ForeignKey(TrustPin, null=True, blank=True, on_delete=models.SET_NULL)
    policy = models.ForeignKey(TrustPolicy, on_delete=models.PROTECT, related_name="+")
    factors = models.JSONField(default=list)
    fingerprint = models.CharField(max_length=32)
    # The first row of the agent, or a level other than its previous row's: the prune keeps
    # these for ``level_change_keep_days`` (the chart's steps), the others ``history_keep_days``.
    level_changed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["agent", "-id"], name="trustcomp_agent_latest")]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.score} {self.level} @ {self.computed_at:%Y-%m-%d %H:%M}"


class ReviewOutcome(models.Model):
    """The outcome of an access review of one agent, as the reviews app reports it."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    certified = models.BooleanField()
    reference = models.CharField(max_length=200)
    decided_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["agent", "-decided_at"], name="reviewoutcome_latest")]

    def __str__(self) -> str:
        state = "certified" if self.certified else "not certified"
        return f"{self.agent_id} {state} ({self.reference})"


# Usage facts (the audit log's aggregator) and attestations live in their own packages.
from .attestations.models import Attestation, Attestor  # noqa: E402, F401
from .usage.models import UsageBaseline, UsageHour, UsageTotal, UsageWatermark  # noqa: E402, F401
