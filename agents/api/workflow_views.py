"""Viewsets of workflows, their runs and personal API tokens."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import services
from ..models import ApiToken, Workflow, WorkflowRun
from ..permissions import TeamScopedViewSetMixin
from . import filters as f
from . import serializers as s
from .views import CONFLICT, NOT_FOUND, ListRetrieve


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
