"""Grant requests and version scope reviews over the API: ``/api/v1/grant-requests/`` and
``/api/v1/scope-reviews/`` (thin views over the services)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from agents.api.fields import SlugRelatedField
from agents.api.serializers import ManagedAgentField
from agents.api.views import CONFLICT, NOT_FOUND, ListRetrieve
from agents.models import AgentVersion, Scope
from agents.permissions import TeamScopedViewSetMixin

from ..models import GrantRequest
from ..services import grant_request_decide, grant_request_open
from ..versions import scope_review_decide


class GrantRequestSerializer(serializers.ModelSerializer):
    agent = ManagedAgentField(help_text="Slug of the agent (one your team manages).")
    scope = SlugRelatedField(
        slug_field="name", queryset=Scope.objects.filter(resource__isnull=False)
    )
    team = SlugRelatedField(slug_field="slug", read_only=True)
    requested_by = SlugRelatedField(slug_field="username", read_only=True)
    decided_by = SlugRelatedField(slug_field="username", read_only=True)
    grant = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    sensitivity = serializers.CharField(source="scope.sensitivity", read_only=True)

    class Meta:
        model = GrantRequest
        fields = [
            "id",
            "agent",
            "scope",
            "sensitivity",
            "team",
            "justification",
            "expires_at",
            "status",
            "requested_by",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_comment",
            "grant",
        ]
        read_only_fields = ["status", "created_at", "decided_at", "decision_comment"]
        validators = []  # "one pending request per scope" is enforced by the service


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000)


class GrantRequestViewSet(TeamScopedViewSetMixin, mixins.CreateModelMixin, ListRetrieve):
    """Requests for sensitive and critical scopes; reviewers outside the team decide them."""

    queryset = GrantRequest.objects.select_related(
        "agent", "scope", "team", "requested_by", "decided_by"
    )
    serializer_class = GrantRequestSerializer
    team_field = "agent__owner_team"
    decision_actions = ("approve", "deny")
    filterset_fields = ["status", "agent__slug", "scope__name", "scope__sensitivity"]
    search_fields = ["agent__slug", "scope__name", "justification"]
    ordering_fields = ["created_at", "decided_at"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = grant_request_open(
            agent=data["agent"],
            scope=data["scope"],
            justification=data["justification"],
            expires_at=data.get("expires_at"),
            by=self.request.user,
        )

    def _decide(self, approve: bool) -> Response:
        request = self.get_object()
        body = DecisionSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        grant_request_decide(
            request=request, approve=approve, by=self.request.user, comment=body.data["comment"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=request.pk)).data)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: GrantRequestSerializer, 403: None, 404: NOT_FOUND, 409: CONFLICT},
        summary="Approve a request and grant the scope (a reviewer outside the team)",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(True)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: GrantRequestSerializer, 403: None, 404: NOT_FOUND, 409: CONFLICT},
        summary="Deny a request (a reviewer outside the team)",
    )
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        return self._decide(False)


class ScopeReviewSerializer(serializers.ModelSerializer):
    agent = SlugRelatedField(slug_field="slug", read_only=True)
    reviewed_by = SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AgentVersion
        fields = [
            "id",
            "agent",
            "label",
            "config_digest",
            "scope_review",
            "scopes_added",
            "scopes_removed",
            "reviewed",
            "reviewed_by",
            "reviewed_at",
            "created_at",
        ]
        read_only_fields = fields


class ScopeReviewViewSet(TeamScopedViewSetMixin, ListRetrieve):
    """Versions asking for different access: the difference, and the reviewer's decision."""

    queryset = AgentVersion.objects.exclude(scope_review=AgentVersion.ScopeReview.NONE)
    serializer_class = ScopeReviewSerializer
    team_field = "agent__owner_team"
    decision_actions = ("approve", "deny")
    filterset_fields = ["scope_review", "agent__slug"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return super().get_queryset().select_related("agent", "reviewed_by")

    def _decide(self, approve: bool) -> Response:
        version = self.get_object()
        body = DecisionSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        scope_review_decide(
            version=version, approve=approve, by=self.request.user, comment=body.data["comment"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=version.pk)).data)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: ScopeReviewSerializer, 403: None, 404: NOT_FOUND, 409: CONFLICT},
        summary="Approve: grant the added scopes, make the version current, revoke dropped ones",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(True)

    @extend_schema(
        request=DecisionSerializer,
        responses={200: ScopeReviewSerializer, 403: None, 404: NOT_FOUND, 409: CONFLICT},
        summary="Deny: the version never becomes current",
    )
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        return self._decide(False)
