"""The audit API: search, per-agent timelines, summaries, exports, and the public checkpoints."""

from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import selectors
from audit.filters import AuditEntryFilter
from audit.models import AuditCheckpoint, AuditEntry
from audit.principals import agent_principal

from .serializers import AuditCheckpointSerializer, AuditEntrySerializer, SummarySerializer
from .visibility import may_see_agent, principals_for


class VisibleEntriesMixin:
    permission_classes = [IsAuthenticated]

    def visible(self):
        return selectors.entries_visible(principals_for(self.request.user))

    def filtered(self):
        filterset = AuditEntryFilter(self.request.query_params, queryset=self.visible())
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset.qs


class AuditEntryList(VisibleEntriesMixin, generics.ListAPIView):
    """Search audit entries: agent, user, resource, action, outcome, workflow run, token, time."""

    serializer_class = AuditEntrySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEntryFilter

    def get_queryset(self):
        return self.visible().order_by("-created_at", "-id")


class AgentTimeline(VisibleEntriesMixin, generics.ListAPIView):
    """One agent's timeline, oldest first (what it did and what was done to it)."""

    serializer_class = AuditEntrySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEntryFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return AuditEntry.objects.none()
        slug = self.kwargs["slug"]
        if not may_see_agent(self.request.user, slug):
            raise Http404
        return selectors.agent_timeline(self.visible(), principal=agent_principal(slug))


class AuditSummaryList(VisibleEntriesMixin, APIView):
    """Counts per actor, resource, action, workflow run and day, in words (one GROUP BY)."""

    @extend_schema(responses={200: SummarySerializer(many=True)})
    def get(self, request):
        try:
            limit = max(1, min(int(request.query_params.get("limit", 20)), 200))
        except ValueError:
            limit = 20
        rows = selectors.summaries(self.filtered(), limit=limit)
        return Response(rows)


class AuditExport(VisibleEntriesMixin, APIView):
    """The current search as CSV or JSON Lines, streamed."""

    formats = {
        "csv": ("text/csv; charset=utf-8", selectors.export_csv),
        "jsonl": ("application/jsonl; charset=utf-8", selectors.export_jsonl),
    }

    @extend_schema(responses={200: None})
    def get(self, request, fmt: str):
        content_type, writer = self.formats[fmt]
        qs = self.filtered().order_by("created_at", "id")
        response = StreamingHttpResponse(writer(qs), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="audit-search.{fmt}"'
        return response


class CheckpointList(generics.ListAPIView):
    """Signed checkpoints of the chain head, newest first. Public, like a CT log's STHs."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = AuditCheckpointSerializer
    queryset = AuditCheckpoint.objects.order_by("-seq", "-id")


class CheckpointLatest(generics.RetrieveAPIView):
    """The newest signed checkpoint."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = AuditCheckpointSerializer

    def get_object(self):
        checkpoint = AuditCheckpoint.objects.order_by("-seq", "-id").first()
        if checkpoint is None:
            raise Http404
        return checkpoint
