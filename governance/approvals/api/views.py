"""Approval requests over the API: ``/api/v1/approvals`` (thin views over the services)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from agents.api.fields import SlugRelatedField

from ..errors import ApprovalError, ApprovalForbidden
from ..models import ApprovalRequest
from ..permissions import approvals_visible_to
from ..services import approval_decide
from .authentication import AgentPrincipal, AgentTokenAuthentication


class ApprovalSerializer(serializers.ModelSerializer):
    agent = SlugRelatedField(slug_field="slug", read_only=True)
    resource = SlugRelatedField(slug_field="slug", read_only=True)
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "status",
            "agent",
            "resource",
            "action",
            "cost",
            "workflow_run",
            "on_behalf_of",
            "reasons",
            "trust_score",
            "trust_level",
            "created_at",
            "expires_at",
            "decided_by",
            "decided_at",
            "decision_reason",
            "valid_until",
        ]
        read_only_fields = fields

    def get_decided_by(self, obj) -> str | None:
        return obj.decided_by.get_username() if obj.decided_by_id else None


class DecideSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class ApprovalList(generics.ListAPIView):
    """Requests the user may see, newest first, a page at a time; ``?status=pending`` filters."""

    serializer_class = ApprovalSerializer
    filter_backends: list = []  # ?status= is checked here, with its own 400

    @extend_schema(
        operation_id="approvals_list",
        parameters=[OpenApiParameter("status", str, enum=ApprovalRequest.Status.values)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = approvals_visible_to(self.request.user)
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in ApprovalRequest.Status.values:
                choices = ", ".join(ApprovalRequest.Status.values)
                raise ValidationError({"status": [f"status must be one of {choices}"]})
            qs = qs.filter(status=wanted)
        return qs


class ApprovalDetail(APIView):
    """One request: its agent polls it with its access token, humans with their session."""

    authentication_classes = [
        AgentTokenAuthentication,
        *api_settings.DEFAULT_AUTHENTICATION_CLASSES,
    ]

    serializer_class = ApprovalSerializer

    @extend_schema(operation_id="approvals_retrieve", responses=ApprovalSerializer)
    def get(self, request, pk):
        if isinstance(request.user, AgentPrincipal):
            qs = ApprovalRequest.objects.filter(agent=request.user.agent)
        else:
            qs = approvals_visible_to(request.user)
        approval = qs.select_related("agent", "resource", "decided_by").filter(pk=pk).first()
        if approval is None:
            raise Http404
        return Response(ApprovalSerializer(approval).data)


class ApprovalDecide(APIView):
    """``POST …/approve`` or ``…/deny`` with an optional ``reason``."""

    approve = True
    serializer_class = DecideSerializer

    @extend_schema(request=DecideSerializer, responses=ApprovalSerializer)
    def post(self, request, pk):
        approval = approvals_visible_to(request.user).filter(pk=pk).first()
        if approval is None:
            raise Http404
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            approval = approval_decide(
                approval=approval,
                approve=self.approve,
                by=request.user,
                reason=body.validated_data["reason"],
            )
        except ApprovalForbidden as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except ApprovalError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ApprovalSerializer(approval).data)
