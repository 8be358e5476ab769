"""Observed configurations in the API: list those of agents you may see, review one.

Rows of another team's agent are absent (404). Reviewing follows the service's rule (403 for
someone who may see but not review, such as the owning team under the default policy).
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from agents.api.fields import SlugRelatedField

from ..errors import RegistryError
from . import selectors, services
from .models import ObservedConfiguration


class ObservedConfigurationSerializer(serializers.ModelSerializer):
    agent = SlugRelatedField(slug_field="slug", read_only=True)
    reviewed_by = SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ObservedConfiguration
        fields = ["id", "agent", "digest", "first_seen_at", "last_seen_at", "seen_via"]
        fields += ["reviewed_at", "reviewed_by", "review_reason"]
        read_only_fields = fields


class ReviewSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="What was checked.")


class ObservedConfigurationFilter(django_filters.FilterSet):
    agent = django_filters.CharFilter(field_name="agent__slug")
    reviewed = django_filters.BooleanFilter(method="filter_reviewed")

    class Meta:
        model = ObservedConfiguration
        fields = ["agent", "digest"]

    def filter_reviewed(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.exclude(reviewed_at=None)
        return selectors.unreviewed(queryset)


class _Refused(APIException):
    def __init__(self, exc: RegistryError):
        super().__init__(detail=str(exc))
        self.status_code = exc.http_status


class ObservedConfigurationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Configuration digests agents presented that matched no reviewed version."""

    queryset = ObservedConfiguration.objects.none()  # per user: see get_queryset
    serializer_class = ObservedConfigurationSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = ObservedConfigurationFilter

    def get_queryset(self):
        return selectors.configurations_visible(self.request.user).order_by("-last_seen_at", "-pk")

    @extend_schema(
        request=ReviewSerializer,
        responses={
            200: ObservedConfigurationSerializer,
            403: OpenApiResponse(description="You may not review this agent's configurations."),
            404: OpenApiResponse(description="No such configuration, or not one you may see."),
            409: OpenApiResponse(description="Already reviewed."),
        },
    )
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Review the configuration: it no longer holds the agent at PENDING."""
        observed = self.get_object()
        # The service's rule, asked before the body: the owning team gets a 403, not a 400.
        if not services.may_review_configuration(request.user, observed.agent):
            raise PermissionDenied(
                "a security reviewer or platform admin outside the agent's team reviews "
                "its configurations"
            )
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.configuration_review(
                observed=observed, by=request.user, reason=body.validated_data["reason"]
            )
        except RegistryError as exc:
            raise _Refused(exc) from exc
        observed.refresh_from_db()
        return Response(self.get_serializer(observed).data, status=status.HTTP_200_OK)
