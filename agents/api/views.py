"""Viewsets of the registry API: parse, check permission, call one service, render.

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
    ApiToken,
    Connection,
    Resource,
    Scope,
    ScopeGrant,
    Team,
    Workflow,
    WorkflowRun,
)
from ..permissions import TeamObjectPermission, TeamScopedViewSetMixin, has_any_role
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


class ResourceViewSet(
    ReadOnlyForRolesMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, ListRetrieve
):
    """Resource servers, by slug: every role reads them; the owning team or admins edit."""

    queryset = Resource.objects.select_related("owner_team")
    serializer_class = s.ResourceSerializer
    lookup_field = "slug"
    team_field = "owner_team"
    filterset_class = f.ResourceFilter
    search_fields = ["slug", "name", "audience"]
    ordering_fields = ["slug", "name", "sensitivity"]

    def perform_create(self, serializer):
        serializer.instance = services.resource_create(
            **serializer.validated_data, by=self.request.user
        )

    def perform_update(self, serializer):
        serializer.instance = services.resource_update(
            resource=serializer.instance, data=serializer.validated_data, by=self.request.user
        )


class ConnectionViewSet(
    TeamScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ListRetrieve,
):
    """Connections of agents to resources: allowed actions and limits."""

    queryset = Connection.objects.select_related("agent", "resource")
    serializer_class = s.ConnectionSerializer
    team_field = "agent__owner_team"
    filterset_class = f.ConnectionFilter
    search_fields = ["agent__slug", "resource__slug"]
    ordering_fields = ["created_at", "expires_at"]

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.connection_create(
            agent=data.pop("agent"),
            resource=data.pop("resource"),
            allowed_actions=data.pop("allowed_actions"),
            by=self.request.user,
            **data,
        )

    def perform_update(self, serializer):
        serializer.instance = services.connection_update(
            connection=serializer.instance, data=serializer.validated_data, by=self.request.user
        )

    def perform_destroy(self, instance):
        services.connection_delete(connection=instance, by=self.request.user)


class WorkflowViewSet(
    TeamScopedViewSetMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, ListRetrieve
):
    """Workflows, by slug."""

    queryset = Workflow.objects.select_related("owner_team")
    serializer_class = s.WorkflowSerializer
    lookup_field = "slug"
    filterset_class = f.WorkflowFilter
    search_fields = ["slug", "name"]
    ordering_fields = ["slug", "name", "created_at"]

    def perform_create(self, serializer):
        serializer.instance = services.workflow_create(
            **serializer.validated_data, by=self.request.user
        )

    def perform_update(self, serializer):
        serializer.instance = services.workflow_update(
            workflow=serializer.instance, data=serializer.validated_data, by=self.request.user
        )


class WorkflowRunViewSet(TeamScopedViewSetMixin, mixins.CreateModelMixin, ListRetrieve):
    """Runs, by run id: start one, then ``complete`` or ``cancel`` it."""

    queryset = WorkflowRun.objects.select_related("workflow").prefetch_related("participants")
    serializer_class = s.WorkflowRunSerializer
    lookup_field = "run_id"
    team_field = "workflow__owner_team"
    filterset_class = f.WorkflowRunFilter
    search_fields = ["run_id", "triggered_by"]
    ordering_fields = ["started_at", "ended_at"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.run_start(
            workflow=data["workflow"],
            run_id=data["run_id"],
            participants=data.get("participants", []),
            deadline=data.get("deadline"),
            by=self.request.user,
        )

    def _end(self, service):
        run = self.get_object()
        service(run=run, by=self.request.user, reason=self._reason())
        return Response(s.WorkflowRunSerializer(self.get_queryset().get(pk=run.pk)).data)

    @extend_schema(
        request=s.ActionReasonSerializer,
        responses={200: s.WorkflowRunSerializer, 404: NOT_FOUND, 409: CONFLICT},
        summary="Complete a run; its task tokens stop working",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, run_id=None):
        return self._end(services.run_complete)

    @extend_schema(
        request=s.ActionReasonSerializer,
        responses={200: s.WorkflowRunSerializer, 404: NOT_FOUND, 409: CONFLICT},
        summary="Cancel a run; its task tokens stop working",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, run_id=None):
        return self._end(services.run_cancel)


class ApiTokenViewSet(mixins.CreateModelMixin, ListRetrieve):
    """One's own personal API tokens. The full token is in the create response, only there."""

    queryset = ApiToken.objects.none()  # per user: see get_queryset
    serializer_class = s.ApiTokenSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["created_at", "last_used_at"]

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(
        request=s.ApiTokenSerializer,
        responses={201: s.ApiTokenCreatedSerializer},
        summary="Create a token for yourself (the secret is shown once)",
    )
    def create(self, request, *args, **kwargs):
        body = s.ApiTokenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, raw = services.api_token_create(
            user=request.user,
            name=body.validated_data["name"],
            expires_at=body.validated_data.get("expires_at"),
            by=request.user,
        )
        token.token = raw  # on this response only; never stored
        data = s.ApiTokenCreatedSerializer(token).data
        return Response(
            data,
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    @extend_schema(
        request=None, responses={200: s.ApiTokenSerializer, 404: NOT_FOUND, 409: CONFLICT}
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = self.get_object()
        services.api_token_revoke(token=token, by=request.user)
        token.refresh_from_db()
        return Response(s.ApiTokenSerializer(token).data)
