"""Serializers of the registry API: related rows by slug, status and trust read-only."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..models import (
    Agent,
    AgentVersion,
    ApiToken,
    Connection,
    Resource,
    Scope,
    ScopeGrant,
    Team,
    Workflow,
    WorkflowRun,
)
from ..permissions import agents_managed_by, is_platform_admin, teams_managed_by
from .fields import SlugRelatedField


def _user(serializer: serializers.Serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class ManagedTeamField(SlugRelatedField):
    """A team by slug, among those the caller may manage (others read as "does not exist")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        super().__init__(**kwargs)

    def get_queryset(self):
        return teams_managed_by(_user(self.parent) if self.parent else None)


class ManagedAgentField(SlugRelatedField):
    """An agent by slug, among those the caller may manage."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        super().__init__(**kwargs)

    def get_queryset(self):
        return agents_managed_by(_user(self.parent) if self.parent else None).select_related(
            "owner_team"
        )


class ActionReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class TeamSerializer(serializers.ModelSerializer):
    members = SlugRelatedField(
        many=True,
        slug_field="username",
        required=False,
        queryset=get_user_model().objects.filter(is_active=True),
        help_text="Usernames of the team's members.",
    )

    class Meta:
        model = Team
        fields = ["slug", "name", "description", "is_active", "members", "created_at"]
        read_only_fields = ["created_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["slug"].read_only = True
        return fields


class ScopeSerializer(serializers.ModelSerializer):
    resource = SlugRelatedField(
        slug_field="slug",
        queryset=Resource.objects.all(),
        allow_null=True,
        help_text="Slug of the resource the scope belongs to (null only for a legacy scope "
        "whose name matched no resource).",
    )
    action = serializers.RegexField(r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)

    def validate_resource(self, value):
        if value is None:
            raise serializers.ValidationError("A new scope belongs to a resource.")
        return value

    class Meta:
        model = Scope
        fields = ["name", "resource", "action", "description", "sensitivity"]
        read_only_fields = ["name"]  # <resource>:<action>, what tokens carry

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["resource"].read_only = True
            fields["action"].read_only = True
        return fields


class AgentSerializer(serializers.ModelSerializer):
    owner_team = ManagedTeamField(help_text="Slug of the owning team.")
    current_version = SlugRelatedField(slug_field="label", read_only=True, allow_null=True)
    created_by = SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Agent
        fields = [
            "slug",
            "display_name",
            "purpose",
            "owner_team",
            "status",
            "status_reason",
            "status_changed_at",
            "current_version",
            "trust_score",
            "trust_level",
            "trust_updated_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status",
            "status_reason",
            "status_changed_at",
            "trust_score",
            "trust_level",
            "trust_updated_at",
            "created_at",
            "updated_at",
        ]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["slug"].read_only = True
        return fields


class AgentCreateSerializer(AgentSerializer):
    """Registering an agent may record its first version in the same call."""

    version_label = serializers.CharField(required=False, allow_blank=True, max_length=64)
    config_digest = serializers.RegexField(
        r"^sha256:[0-9a-f]{64}$", required=False, allow_blank=True
    )
    requested_scopes = SlugRelatedField(
        many=True, slug_field="name", queryset=Scope.objects.all(), required=False
    )

    class Meta(AgentSerializer.Meta):
        fields = [
            *AgentSerializer.Meta.fields,
            "version_label",
            "config_digest",
            "requested_scopes",
        ]

    def validate(self, attrs):
        if attrs.get("version_label") and not attrs.get("config_digest"):
            raise serializers.ValidationError({"config_digest": "Required with version_label."})
        return attrs


class AgentVersionSerializer(serializers.ModelSerializer):
    agent = ManagedAgentField(help_text="Slug of the agent.")
    requested_scopes = SlugRelatedField(
        many=True, slug_field="name", queryset=Scope.objects.all(), required=False
    )
    reviewed_by = SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = AgentVersion
        fields = [
            "id",
            "agent",
            "label",
            "config_digest",
            "requested_scopes",
            "reviewed",
            "reviewed_by",
            "reviewed_at",
            "created_at",
        ]
        read_only_fields = ["reviewed", "reviewed_at", "created_at"]
        validators = []  # (agent, label) uniqueness is the service's and the database's job


class ScopeGrantSerializer(serializers.ModelSerializer):
    agent = ManagedAgentField(help_text="Slug of the agent.")
    scope = SlugRelatedField(slug_field="name", queryset=Scope.objects.all())
    granted_by = SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ScopeGrant
        fields = [
            "id",
            "agent",
            "scope",
            "status",
            "justification",
            "expires_at",
            "granted_by",
            "created_at",
            "ended_at",
            "ended_by",
        ]
        read_only_fields = ["status", "created_at", "ended_at", "ended_by"]
        validators = []  # "one active grant per scope" is enforced by scope_grant


class ResourceSerializer(serializers.ModelSerializer):
    owner_team = ManagedTeamField(
        required=False, allow_null=True, help_text="Slug of the owning team (admins may omit)."
    )

    class Meta:
        model = Resource
        fields = ["slug", "name", "audience", "owner_team", "sensitivity", "description"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["slug"].read_only = True
        return fields

    def validate(self, attrs):
        # Only platform admins may register a resource that no team owns.
        team = attrs.get("owner_team", self.instance.owner_team if self.instance else None)
        if team is None and not is_platform_admin(_user(self)):
            raise serializers.ValidationError({"owner_team": "Choose one of your teams."})
        return attrs


class ConnectionSerializer(serializers.ModelSerializer):
    agent = ManagedAgentField(help_text="Slug of the agent.")
    resource = SlugRelatedField(slug_field="slug", queryset=Resource.objects.all())
    allowed_actions = serializers.ListField(
        child=serializers.RegexField(r"^[a-z0-9][a-z0-9_.-]*$", max_length=64),
        allow_empty=False,
    )
    log_only_rules = serializers.ListField(
        child=serializers.ChoiceField(choices=["trust_floor", "rate_limit", "budget"]),
        required=False,
    )

    class Meta:
        model = Connection
        fields = [
            "id",
            "agent",
            "resource",
            "allowed_actions",
            "rate_limit",
            "rate_window_seconds",
            "budget_cap",
            "budget_period",
            "trust_floor",
            "log_only_rules",
            "expires_at",
            "status",
            "created_at",
        ]
        read_only_fields = ["status", "created_at"]
        validators = []  # the (agent, resource) pair is checked by connection_create

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["agent"].read_only = True
            fields["resource"].read_only = True
        return fields


class WorkflowSerializer(serializers.ModelSerializer):
    owner_team = ManagedTeamField(help_text="Slug of the owning team.")

    class Meta:
        model = Workflow
        fields = ["slug", "name", "owner_team", "description", "created_at"]
        read_only_fields = ["created_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["slug"].read_only = True
        return fields


class ManagedWorkflowField(SlugRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        super().__init__(**kwargs)

    def get_queryset(self):
        from ..permissions import restrict

        user = _user(self.parent) if self.parent else None
        return restrict(Workflow.objects.all(), user, team_field="owner_team", write=True)


class WorkflowRunSerializer(serializers.ModelSerializer):
    workflow = ManagedWorkflowField(help_text="Slug of the workflow.")
    triggered_by = serializers.CharField(
        read_only=True, help_text="Who started the run: always the calling user."
    )
    participants = ManagedAgentField(
        many=True,
        required=False,
        help_text="Slugs of the agents taking part; only they may bind tokens to the run.",
    )

    class Meta:
        model = WorkflowRun
        fields = [
            "run_id",
            "workflow",
            "triggered_by",
            "participants",
            "status",
            "started_at",
            "deadline",
            "ended_at",
        ]
        read_only_fields = ["status", "started_at", "ended_at"]


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "key", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = ["key", "created_at", "last_used_at", "revoked_at"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The full token. Shown only once.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class ConsentSerializer(serializers.Serializer):
    accept = serializers.BooleanField()
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
