"""Viewsets of the registry API (teams, agents, versions, scopes, grants) and their shared base:
parse, check permission, call one service, render. Resources and connections are in
``resource_views``, workflows, runs and API tokens in ``workflow_views``.

Rows outside the caller's view are absent from ``get_queryset`` (404, never 403). Domain
errors answer 400, or 409 for a state conflict; model validation errors name the field.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, filters, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import services
from ..errors import RegistryError
from ..filters import AgentFilter
from ..models import (
    Agent,
    AgentVersion,
    Scope,
    ScopeGrant,
    Team,
)
from ..permissions import (
    TeamObjectPermission,
    TeamScopedViewSetMixin,
    has_any_role,
)
from . import filters as f
from . import serializers as s

CONFLICT = OpenApiResponse(description="The object's current state does not allow this.")
NOT_FOUND = OpenApiResponse(description="No such object, or not one you may see.")


class DomainError(exceptions.APIException):
    default_code = "invalid"

    def __init__(self, exc: RegistryError):
        super().__init__(detail=str(exc))
        self.status_code = exc.http_status
        if exc.http_status == status.HTTP_409_CONFLICT:
            self.detail = exceptions.ErrorDetail(str(exc), code="conflict")


def _django_validation(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        detail = {
            ("non_field_errors" if key == "__all__" else key): value
            for key, value in exc.message_dict.items()
        }
    else:
        detail = {"non_field_errors": exc.messages}
    return exceptions.ValidationError(detail)


class RegistryViewSet(viewsets.GenericViewSet):
    """Shared: permission classes, filter backends and the domain-error mapping."""

    permission_classes = [IsAuthenticated, TeamObjectPermission]
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    team_field: str | None = "owner_team"

    def handle_exception(self, exc):
        if isinstance(exc, RegistryError):
            exc = DomainError(exc)
        elif isinstance(exc, DjangoValidationError):
            exc = _django_validation(exc)
        return super().handle_exception(exc)

    def _reason(self) -> str:
        body = s.ActionReasonSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data["reason"]


class ListRetrieve(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    pass


class ReadOnlyForRolesMixin:
    """Catalogue rows every role may read; nobody without a role sees any."""

    def get_queryset(self):
        qs = super().get_queryset()
        return qs if has_any_role(self.request.user) else qs.none()


@extend_schema_view(
    retrieve=extend_schema(responses={200: s.TeamSerializer, 404: NOT_FOUND}),
)
class TeamViewSet(
    TeamScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ListRetrieve,
):
    """Teams: members see theirs, reviewers and admins all; only platform admins change them."""

    queryset = Team.objects.select_related("group").prefetch_related("group__user_set")
    serializer_class = s.TeamSerializer
    lookup_field = "slug"
    team_field = "pk"
    admin_only_actions = ("create", "update", "partial_update")
    filterset_class = f.TeamFilter
    search_fields = ["slug", "name"]
    ordering_fields = ["slug", "name", "created_at"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.team_create(
            slug=data["slug"],
            name=data["name"],
            description=data.get("description", ""),
            members=data.get("members", ()),
            by=self.request.user,
        )

    @transaction.atomic
    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        members = data.pop("members", None)
        team = services.team_update(team=serializer.instance, data=data, by=self.request.user)
        if members is not None:
            services.team_members_set(team=team, users=members, by=self.request.user)
        serializer.instance = self.get_queryset().get(pk=team.pk)


@extend_schema_view(
    retrieve=extend_schema(responses={200: s.AgentSerializer, 404: NOT_FOUND}),
)
class AgentViewSet(
    TeamScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ListRetrieve,
):
    """Agents, by slug. Status changes only through the lifecycle actions."""

    queryset = Agent.objects.select_related("owner_team", "current_version", "created_by")
    serializer_class = s.AgentSerializer
    lookup_field = "slug"
    containment_actions = ("suspend",)
    filterset_class = AgentFilter  # shared with the portal
    search_fields = ["slug", "display_name", "purpose"]
    ordering_fields = ["slug", "display_name", "created_at", "trust_score", "status"]

    def get_serializer_class(self):
        return s.AgentCreateSerializer if self.action == "create" else s.AgentSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.agent_register(
            slug=data["slug"],
            display_name=data["display_name"],
            purpose=data["purpose"],
            owner_team=data["owner_team"],
            by=self.request.user,
            version_label=data.get("version_label", ""),
            config_digest=data.get("config_digest", ""),
            requested_scopes=data.get("requested_scopes", ()),
        )

    def perform_update(self, serializer):
        serializer.instance = services.agent_update(
            agent=serializer.instance, data=serializer.validated_data, by=self.request.user
        )

    def _lifecycle(self, service):
        agent = self.get_object()
        reason = self._reason()
        service(agent=agent, by=self.request.user, reason=reason)
        return Response(s.AgentSerializer(self.get_queryset().get(pk=agent.pk)).data)

    @extend_schema(
        request=s.ActionReasonSerializer,
        responses={200: s.AgentSerializer, 404: NOT_FOUND, 409: CONFLICT},
        summary="Suspend an active agent (its team, reviewers and admins)",
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request, slug=None):
        return self._lifecycle(services.agent_suspend)

    @extend_schema(
        request=s.ActionReasonSerializer,
        responses={200: s.AgentSerializer, 404: NOT_FOUND, 409: CONFLICT},
        summary="Reactivate a suspended agent",
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, slug=None):
        return self._lifecycle(services.agent_reactivate)

    @extend_schema(
        request=s.ActionReasonSerializer,
        responses={200: s.AgentSerializer, 404: NOT_FOUND, 409: CONFLICT},
        summary="Decommission an agent for good (ends its grants)",
    )
    @action(detail=True, methods=["post"])
    def decommission(self, request, slug=None):
        return self._lifecycle(services.agent_decommission)


class AgentVersionViewSet(TeamScopedViewSetMixin, mixins.CreateModelMixin, ListRetrieve):
    """Versions of agents; adding one makes it current; reviewers mark them reviewed."""

    queryset = AgentVersion.objects.select_related("agent", "reviewed_by").prefetch_related(
        "requested_scopes"
    )
    serializer_class = s.AgentVersionSerializer
    team_field = "agent__owner_team"
    decision_actions = ("review",)
    filterset_class = f.AgentVersionFilter
    ordering_fields = ["created_at", "label"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.agent_version_add(
            agent=data["agent"],
            label=data["label"],
            config_digest=data["config_digest"],
            requested_scopes=data.get("requested_scopes", ()),
            by=self.request.user,
        )

    @extend_schema(
        request=None,
        responses={200: s.AgentVersionSerializer, 404: NOT_FOUND, 409: CONFLICT},
        summary="Mark a version reviewed (security reviewers and admins)",
    )
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        version = self.get_object()
        services.agent_version_review(version=version, by=request.user)
        return Response(s.AgentVersionSerializer(self.get_queryset().get(pk=version.pk)).data)


class ScopeViewSet(
    ReadOnlyForRolesMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, ListRetrieve
):
    """The scope catalogue, by name (``resource:action``); platform admins edit it."""

    queryset = Scope.objects.select_related("resource")
    serializer_class = s.ScopeSerializer
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"
    team_field = None
    admin_only_actions = ("create", "update", "partial_update")
    filterset_class = f.ScopeFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "sensitivity"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.scope_create(**data, by=self.request.user)

    def perform_update(self, serializer):
        serializer.instance = services.scope_update(
            scope=serializer.instance, data=serializer.validated_data, by=self.request.user
        )


class ScopeGrantViewSet(TeamScopedViewSetMixin, mixins.CreateModelMixin, ListRetrieve):
    """Grants: creating one is the grant service; ``revoke`` ends it (reviewers may too)."""

    queryset = ScopeGrant.objects.select_related("agent", "scope", "granted_by")
    serializer_class = s.ScopeGrantSerializer
    team_field = "agent__owner_team"
    containment_actions = ("revoke",)
    filterset_class = f.ScopeGrantFilter
    search_fields = ["agent__slug", "scope__name", "justification"]
    ordering_fields = ["created_at", "expires_at"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.scope_grant(
            agent=data["agent"],
            scope=data["scope"],
            justification=data["justification"],
            expires_at=data.get("expires_at"),
            by=self.request.user,
        )

    @extend_schema(
        request=s.ActionReasonSerializer,
        responses={200: s.ScopeGrantSerializer, 404: NOT_FOUND, 409: CONFLICT},
        summary="Revoke a grant now",
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        grant = self.get_object()
        services.scope_revoke(grant=grant, by=request.user, reason=self._reason())
        return Response(s.ScopeGrantSerializer(self.get_queryset().get(pk=grant.pk)).data)
