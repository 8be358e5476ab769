"""The notices API: my notices (paginated), one notice, mark read, mark all read.

Only the caller's own notices exist here (to them or to their teams): another person's notice
is a 404 to read and to mark, never a 403.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from . import selectors, services
from .models import Notice


class NoticeSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(read_only=True)
    recipient = serializers.CharField(read_only=True, help_text="team:<slug> or user:<name>")
    is_read = serializers.BooleanField(read_only=True, help_text="Read by you.")

    class Meta:
        model = Notice
        fields = ["id", "kind", "kind_label", "subject", "body", "link", "recipient"]
        fields += ["created_at", "is_read"]
        read_only_fields = fields


class NoticeFilter(django_filters.FilterSet):
    is_read = django_filters.BooleanFilter(help_text="Only read (true) or unread (false).")
    kind = django_filters.CharFilter()

    class Meta:
        model = Notice
        fields = ["kind"]


COUNT = inline_serializer("NoticeCount", {"unread": serializers.IntegerField()})
MARKED = inline_serializer("NoticesMarked", {"marked": serializers.IntegerField()})


class NoticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your notices: to you and to the teams you are a member of, newest first."""

    queryset = Notice.objects.none()  # per user: see get_queryset
    serializer_class = NoticeSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = NoticeFilter

    def get_queryset(self):
        return selectors.notices_for(self.request.user)

    @extend_schema(request=None, responses={200: NoticeSerializer, 404: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark one of your notices read (idempotent)."""
        notice = self.get_object()
        services.notice_mark_read(notice_id=notice.pk, user=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=notice.pk)).data)

    @extend_schema(request=None, responses={200: MARKED})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        """Mark every one of your notices read."""
        return Response({"marked": services.notices_mark_all_read(user=request.user)})

    @extend_schema(responses={200: COUNT})
    @action(detail=False, methods=["get"], url_path="unread-count", pagination_class=None)
    def unread_count(self, request):
        """How many of your notices you have not read (what the portal header shows)."""
        return Response({"unread": selectors.unread_count(request.user)})
