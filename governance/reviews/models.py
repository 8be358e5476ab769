"""Access review campaigns: the policy, campaigns, one item per agent, one line per access."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from agents.models import Agent, Connection, ScopeGrant, Sensitivity, Team
from credentials.models import Credential


class Risk(models.TextChoices):
    """How much an item's access could hurt: the highest sensitivity among its grants.

    ``sensitive`` is a HIGH scope, ``critical`` a CRITICAL one; LOW and MEDIUM are ``low``.
    """

    LOW = "low", "Low"
    SENSITIVE = "sensitive", "Sensitive"
    CRITICAL = "critical", "Critical"


class Outcome(models.TextChoices):
    """What happens to an item nobody signed off when its ladder runs out."""

    NO_CHANGE = "no_change", "No change"
    APPLY = "apply_recommendations", "Apply the recommendations"
    REVOKE = "revoke", "Revoke everything reviewed"


LADDER_STEPS = ("remind", "escalate", "quarantine", "outcome")


def default_ladder() -> dict:
    # Days after the due date (negative: before it) at which each step runs, by risk.
    return {
        Risk.LOW: [[-3, "remind"], [0, "remind"], [7, "escalate"], [30, "outcome"]],
        Risk.SENSITIVE: [[-3, "remind"], [0, "remind"], [3, "escalate"], [7, "quarantine"],
                         [14, "outcome"]],
        Risk.CRITICAL: [[-3, "remind"], [0, "escalate"], [2, "quarantine"], [7, "outcome"]],
    }  # fmt: skip


class ReviewPolicy(models.Model):
    """The access review policy: one row, edited by platform admins in the admin."""

    every_days = models.PositiveIntegerField(
        default=91,
        validators=[MinValueValidator(1)],
        help_text="A scheduled campaign over all agents opens this many days after the last one "
        "(quarterly by default). The daily beat task 'Open scheduled access reviews' reads it.",
    )
    schedule_enabled = models.BooleanField(default=True)
    due_days = models.PositiveIntegerField(
        default=14, validators=[MinValueValidator(1)], help_text="Days reviewers have."
    )
    unused_days = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1)],
        help_text="A grant, connection action or credential not used for this many days is "
        "recommended for removal.",
    )
    dormant_days = models.PositiveIntegerField(
        default=90,
        validators=[MinValueValidator(1)],
        help_text="An active agent unused for this many days gets a micro-review.",
    )
    ladder = models.JSONField(
        default=default_ladder,
        help_text="By risk (low, sensitive, critical): [[days after due, step], …]; steps are "
        '"remind", "escalate", "quarantine" (not for low) and "outcome".',
    )
    outcome_low = models.CharField(
        max_length=24, choices=Outcome.choices, default=Outcome.NO_CHANGE
    )
    outcome_sensitive = models.CharField(
        max_length=24, choices=Outcome.choices, default=Outcome.APPLY
    )
    outcome_critical = models.CharField(
        max_length=24, choices=Outcome.choices, default=Outcome.REVOKE
    )
    rubber_stamp_seconds = models.FloatField(
        default=1.0, help_text="Keeping everything faster than this per item flags the reviewer."
    )
    rubber_stamp_keep_ratio = models.FloatField(
        default=0.95, help_text="Keeping at least this share of lines flags the reviewer."
    )
    rubber_stamp_min_items = models.PositiveIntegerField(
        default=5, help_text="Flag only reviewers who signed off at least this many items."
    )
    last_scheduled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How far the micro-review sweep has read the audit log for trust level drops.
    micro_swept_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "review policy"

    def __str__(self) -> str:
        return "Access review policy"

    @classmethod
    def current(cls) -> ReviewPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy

    def outcome_for(self, risk: str) -> str:
        return getattr(self, f"outcome_{risk}")

    def steps_for(self, risk: str) -> list[tuple[int, str]]:
        return sorted((int(days), step) for days, step in self.ladder.get(risk, []))

    def clean(self) -> None:
        ladder = self.ladder
        if not isinstance(ladder, dict) or set(ladder) - set(Risk.values):
            raise ValidationError({"ladder": "Use an object keyed by low, sensitive, critical."})
        for risk, steps in ladder.items():
            if not isinstance(steps, list):
                raise ValidationError({"ladder": f"{risk}: use a list of [days, step] pairs."})
            for pair in steps:
                if (
                    not isinstance(pair, list | tuple)
                    or len(pair) != 2
                    or isinstance(pair[0], bool)
                    or not isinstance(pair[0], int)
                    or pair[1] not in LADDER_STEPS
                ):
                    raise ValidationError({"ladder": f"{risk}: {pair!r} is not [days, step]."})
                if risk == Risk.LOW and pair[1] == "quarantine":
                    raise ValidationError(
                        {"ladder": "Quarantine is for sensitive and critical access only."}
                    )


class Campaign(models.Model):
    """A review of many agents' access (or one agent's: a micro-review), with a due date."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "By hand"
        MICRO = "micro", "Micro-review"

    class Coverage(models.TextChoices):
        ALL = "all", "All agents"
        TEAM = "team", "One team"
        SENSITIVITY = "sensitivity", "Grants at or above a sensitivity"
        AGENT = "agent", "One agent"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANUAL)
    coverage = models.CharField(max_length=12, choices=Coverage.choices, default=Coverage.ALL)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    min_sensitivity = models.CharField(
        max_length=10, choices=Sensitivity.choices, blank=True, default=""
    )
    trigger = models.CharField(max_length=32, blank=True, help_text="What opened a micro-review.")
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    due_at = models.DateTimeField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return self.name


class ReviewItem(models.Model):
    """One agent in a campaign: its lines, the owners' answer, the sign-off, the ladder."""

    class State(models.TextChoices):
        PENDING = "pending", "Awaiting decision"
        SIGNED_OFF = "signed_off", "Signed off"
        CLOSED_BY_POLICY = "closed_by_policy", "Closed by policy (no response)"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    risk = models.CharField(max_length=10, choices=Risk.choices, default=Risk.LOW)
    trust_level = models.CharField(max_length=10, blank=True)
    trust_score = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    owner_answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    # Seconds from the reviewer's previous sign-off in the campaign (the rubber-stamp clock).
    decision_seconds = models.FloatField(null=True, blank=True)
    outcome = models.CharField(max_length=24, blank=True)
    ladder_step = models.PositiveSmallIntegerField(default=0)
    quarantined_credentials = models.JSONField(default=list, blank=True)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "agent__slug"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "agent"], name="reviewitem_one_per_agent")
        ]
        indexes = [models.Index(fields=["state", "campaign"])]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.agent.slug}"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING


class Decision(models.TextChoices):
    KEEP = "keep", "Keep"
    REDUCE = "reduce", "Reduce"
    REVOKE = "revoke", "Revoke"


class ReviewLine(models.Model):
    """One grant, connection or credential of the item's agent, its evidence and its fate."""

    class Kind(models.TextChoices):
        GRANT = "grant", "Scope grant"
        CONNECTION = "connection", "Connection"
        CREDENTIAL = "credential", "Credential"

    class Result(models.TextChoices):
        APPLIED = "applied", "Applied"
        KEPT = "kept", "Kept"
        UNCHANGED = "unchanged", "Nothing to change (already gone)"

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    grant = models.ForeignKey(
        ScopeGrant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the line was when the campaign opened (the row may change or go meanwhile).
    label = models.CharField(max_length=200)
    sensitivity = models.CharField(max_length=10, blank=True)
    actions = models.JSONField(default=list, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    uses_30d = models.PositiveIntegerField(default=0)
    uses_90d = models.PositiveIntegerField(default=0)
    age_days = models.PositiveIntegerField(default=0)
    recommendation = models.CharField(max_length=8, choices=Decision.choices)
    recommended_actions = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    decision = models.CharField(max_length=8, choices=Decision.choices, blank=True)
    reduce_to = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=10, choices=Result.choices, blank=True)
    result_detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["item", "kind", "label"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="grant", connection__isnull=True, credential__isnull=True)
                | Q(kind="connection", grant__isnull=True, credential__isnull=True)
                | Q(kind="credential", grant__isnull=True, connection__isnull=True),
                name="reviewline_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label}"

    @property
    def is_sensitive(self) -> bool:
        return self.sensitivity in (Sensitivity.HIGH, Sensitivity.CRITICAL)

    @property
    def unused(self) -> bool:
        """Recommended for removal or reduction: the evidence says it went unused."""
        return self.recommendation != Decision.KEEP


class AgentUsage(Agent):
    """The admin's view of an agent's usage evidence (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "agent usage"
        verbose_name_plural = "agent usage"
