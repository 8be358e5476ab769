"""Viewsets of resources and connections (the resource owners' consent too)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import services
from ..models import Connection, Resource
from ..permissions import can_manage_team, connections_visible_to
from . import filters as f
from . import serializers as s
from .views import CONFLICT, NOT_FOUND, ListRetrieve, ReadOnlyForRolesMixin


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
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ListRetrieve,
):
    """Connections of agents to resources: allowed actions and limits. The resource's owners see
    every connection to it and consent to those from other teams (``consent``)."""

    queryset = Connection.objects.select_related("agent", "resource")

    def get_queryset(self):
        visible = connections_visible_to(self.request.user)
        return super().get_queryset().filter(pk__in=visible.values("pk"))

    def get_permissions(self):
        if self.action == "consent":  # the resource owners' right, checked by the service
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(
        request=s.ConsentSerializer,
        responses={200: s.ConnectionSerializer, 403: None, 404: NOT_FOUND, 409: CONFLICT},
        summary="Accept or decline a connection to your team's resource",
    )
    @action(detail=True, methods=["post"])
    def consent(self, request, pk=None):
        connection = self.get_object()
        # Who may consent before what was sent: the agent's own team sees the connection but
        # must get a 403 whatever the body, not a 400 that reads like a right to try again.
        if not can_manage_team(request.user, connection.resource.owner_team_id):
            raise PermissionDenied(
                f"only {connection.resource.slug}'s owners consent to its connections"
            )
        body = s.ConsentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.connection_consent(
            connection=connection,
            accept=body.validated_data["accept"],
            comment=body.validated_data["comment"],
            by=request.user,
        )
        return Response(s.ConnectionSerializer(self.get_queryset().get(pk=connection.pk)).data)

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
