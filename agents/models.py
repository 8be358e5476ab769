"""The registry: who the agents are, who owns them, and what they may reach."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from .querysets import AgentQuerySet, ScopeGrantQuerySet

# A client id never contains a colon (naive HTTP Basic clients would split it in the wrong place).
slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
    "Use 1–64 lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
)
action_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_.-]*$",
    "An action is lowercase letters, digits, '.', '_' and '-', such as 'read'.",
)
scope_name_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_.-]*:[a-z0-9][a-z0-9_.-]*$",
    "A scope is written resource:action, in lowercase letters, digits, '.', '_' and '-'.",
)


class Sensitivity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class TrustLevel(models.TextChoices):
    UNTRUSTED = "untrusted", "Untrusted"
    PENDING = "pending", "Pending"
    TRUSTED = "trusted", "Trusted"


TRUST_ORDER = {TrustLevel.UNTRUSTED: 0, TrustLevel.PENDING: 1, TrustLevel.TRUSTED: 2}


class Team(models.Model):
    """An owning team. Agents belong to teams, never to the person who registered them.

    Its members are the users of its own auth ``group`` (``team:<slug>``); guardian object
    permissions on the team are granted to that group (see ``agents.permissions``).
    """

    slug = models.SlugField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    # Nullable only so a team made straight through the ORM still loads; ``members`` and the
    # services provision the group on first use.
    group = models.OneToOneField(
        Group, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="team"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("manage_team", "Can manage the team's agents, grants, connections and workflows")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def members(self):
        """The team's members: the users of its group; none before the group is provisioned
        (by ``team_create`` or ``team_members_set``, which also audit the change)."""
        if self.group_id is None:
            return get_user_model().objects.none()
        return self.group.user_set


class TeamUserObjectPermission(UserObjectPermissionBase):
    """Guardian object permission of one user on one team (a direct foreign key, not generic)."""

    content_object = models.ForeignKey(Team, on_delete=models.CASCADE)


class TeamGroupObjectPermission(GroupObjectPermissionBase):
    """Guardian object permission of one group on one team (a direct foreign key, not generic)."""

    content_object = models.ForeignKey(Team, on_delete=models.CASCADE)


class Scope(models.Model):
    """One entry of the scope catalogue: one action on one resource.

    ``resource`` and ``action`` are the relation the decision point reads; ``name``
    (``<resource slug>:<action>``) is the string tokens carry, derived from them and never
    edited (a resource's slug never changes either). A scope with no resource is a legacy entry
    whose name matched no resource when scopes became relations: it cannot be granted or
    decided until a resource with that slug is registered, which adopts it.
    """

    name = models.CharField(max_length=130, unique=True, validators=[scope_name_validator])
    resource = models.ForeignKey(
        "Resource", null=True, blank=True, on_delete=models.PROTECT, related_name="scopes"
    )
    action = models.CharField(max_length=64, validators=[action_validator])
    description = models.TextField(blank=True)
    sensitivity = models.CharField(
        max_length=10, choices=Sensitivity.choices, default=Sensitivity.LOW
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "action"],
                condition=Q(resource__isnull=False),
                name="scope_unique_resource_action",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.resource_id is None:
            return
        expected = scope_name_for(self.resource.slug, self.action)
        if not self.name:
            self.name = expected  # a form that does not show the derived name
        elif self.name != expected:
            raise ValidationError({"name": "A scope's name is <resource slug>:<action>."})

    @property
    def needs_request(self) -> bool:
        """Sensitive and critical scopes are granted through a reviewed request, never directly."""
        return self.sensitivity != Sensitivity.LOW


def scope_name_for(resource_slug: str, action: str) -> str:
    """The name tokens carry for ``action`` on the resource ``resource_slug``."""
    return f"{resource_slug}:{action}"


class Agent(models.Model):
    """An AI agent as a first-class principal; its slug is its client_id and JWT sub."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        DECOMMISSIONED = "decommissioned", "Decommissioned"

    slug = models.SlugField(max_length=64, unique=True, validators=[slug_validator])
    display_name = models.CharField(max_length=200)
    purpose = models.TextField()
    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="agents")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_version = models.ForeignKey(
        "AgentVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Written only by the trust app's services; read by everyone (introspection, decisions).
    trust_score = models.PositiveSmallIntegerField(default=0)
    trust_level = models.CharField(
        max_length=10, choices=TrustLevel.choices, default=TrustLevel.UNTRUSTED
    )
    trust_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgentQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]
        permissions = [("manage_lifecycle", "Can suspend, reactivate and decommission agents")]

    def __str__(self) -> str:
        return self.slug

    @property
    def principal(self) -> str:
        return f"agent:{self.slug}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class AgentVersion(models.Model):
    """A released configuration of an agent and the access it asks for."""

    class ScopeReview(models.TextChoices):
        NONE = "none", "No change of access"
        PENDING = "pending", "Awaiting a reviewer"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="versions")
    label = models.CharField(max_length=64)
    config_digest = models.CharField(
        max_length=71,
        validators=[RegexValidator(r"^sha256:[0-9a-f]{64}$", "Use sha256:<64 hex digits>.")],
    )
    requested_scopes = models.ManyToManyField(Scope, blank=True, related_name="+")
    reviewed = models.BooleanField(default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # A version asking for access the agent does not hold (or no longer for access it holds)
    # waits for a scope review (``agents.services.versions``); the difference is kept as asked.
    scope_review = models.CharField(
        max_length=10, choices=ScopeReview.choices, default=ScopeReview.NONE
    )
    scopes_added = models.JSONField(default=list, blank=True)
    scopes_removed = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agent", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "label"], name="agentversion_unique_label")
        ]

    def __str__(self) -> str:
        return f"{self.agent.slug}@{self.label}"


class ScopeGrant(models.Model):
    """A scope granted to an agent: who granted it, why, until when."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="grants")
    scope = models.ForeignKey(Scope, on_delete=models.PROTECT, related_name="grants")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    justification = models.TextField()
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=200, blank=True)

    objects = ScopeGrantQuerySet.as_manager()

    class Meta:
        ordering = ["agent", "scope__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "scope"],
                condition=Q(status="active"),
                name="scopegrant_one_active_per_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent.slug} → {self.scope.name}"


class Resource(models.Model):
    """A downstream system (a resource server) and its audience URI."""

    slug = models.SlugField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    audience = models.URLField(max_length=300, unique=True)
    owner_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="resources"
    )
    sensitivity = models.CharField(
        max_length=10, choices=Sensitivity.choices, default=Sensitivity.MEDIUM
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Connection(models.Model):
    """What an agent may do on one resource, how often, for how much, at which trust floor."""

    class BudgetPeriod(models.TextChoices):
        HOUR = "hour", "Hour"
        DAY = "day", "Day"
        MONTH = "month", "Month"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Awaiting the resource owner's consent"
        DECLINED = "declined", "Declined by the resource owner"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="connections")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="connections")
    # A connection to another team's resource is usable only once that team consents
    # (``agents.services.connections``); the decision point and the token endpoint read
    # active connections only.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    allowed_actions = models.JSONField(default=list)
    rate_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Requests per window")
    rate_window_seconds = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])
    budget_cap = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    budget_period = models.CharField(
        max_length=8, choices=BudgetPeriod.choices, default=BudgetPeriod.DAY
    )
    trust_floor = models.CharField(
        max_length=10, choices=TrustLevel.choices, default=TrustLevel.PENDING
    )
    # Rules named here are computed and audited but not enforced ("trust_floor", "rate_limit",
    # "budget"): try a policy on live traffic before it bites.
    log_only_rules = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agent", "resource"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "resource"], name="connection_unique_pair")
        ]

    def __str__(self) -> str:
        return f"{self.agent.slug} → {self.resource.slug}"


class ApiToken(models.Model):
    """A personal API token for scripts (``gvp_<key>_<secret>``); only a digest is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user", "-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} (gvp_{self.key}_…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )


# Workflows, the organisation policy, notices and drift have modules of their own; their models
# belong to this app and are imported from here (after what they build on).
from .drift.models import ObservedConfiguration  # noqa: E402, F401
from .notices.models import Notice, NoticeRead, OutboxMessage  # noqa: E402, F401
from .policy import OrganisationPolicy  # noqa: E402, F401
from .workflows import Workflow, WorkflowRun  # noqa: E402, F401
