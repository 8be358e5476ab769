"""The trust API: the policy (everyone reads, platform admins change), agents' trust, pins.

Agents outside the caller's view are 404. Refusals: a bad policy is 400 with field errors, a
caller without the right is 403. Thin: parse, call one service or selector, render.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.permissions import agents_visible_to, can_decide, has_any_role

from ..errors import TrustError, TrustForbidden
from ..models import TrustComputation, TrustPolicy
from ..policy import current_policy, trust_policy_change
from ..selectors import open_pin, trust_history
from ..services import trust_pin, trust_pin_release
from . import serializers as s

FORBIDDEN = OpenApiResponse(description="Your role may not do this.")
NOT_FOUND = OpenApiResponse(description="No such agent, or not one you may see.")


class HasRole(BasePermission):
    def has_permission(self, request, view) -> bool:
        return has_any_role(request.user)


def _field_errors(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(
            {("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
        )
    return exceptions.ValidationError({"non_field_errors": exc.messages})


class TrustPolicyView(APIView):
    """The trust policy in force; a change stores a new version."""

    permission_classes = [HasRole]

    @extend_schema(responses=s.TrustPolicySerializer)
    def get(self, request):
        return Response(s.TrustPolicySerializer(current_policy()).data)

    @extend_schema(
        request=s.TrustPolicyChangeSerializer,
        responses={200: s.TrustPolicySerializer, 400: OpenApiResponse(), 403: FORBIDDEN},
        description="Platform admins: a new immutable version with these fields changed.",
    )
    def patch(self, request):
        body = s.TrustPolicyChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changes = {k: v for k, v in body.validated_data.items() if k != "reason"}
        try:
            policy = trust_policy_change(
                by=request.user, reason=body.validated_data["reason"], changes=changes
            )
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except DjangoValidationError as exc:
            raise _field_errors(exc) from exc
        return Response(s.TrustPolicySerializer(policy).data)


class TrustPolicyVersions(generics.ListAPIView):
    """Every version of the trust policy, newest first."""

    permission_classes = [HasRole]
    serializer_class = s.TrustPolicySerializer
    queryset = TrustPolicy.objects.order_by("-version")


def _agent(request, slug: str):
    return get_object_or_404(agents_visible_to(request.user), slug=slug)


class AgentTrustView(APIView):
    """An agent's score, level, open pin and latest breakdown."""

    permission_classes = [HasRole]

    @extend_schema(responses={200: s.AgentTrustSerializer, 404: NOT_FOUND})
    def get(self, request, slug: str):
        agent = _agent(request, slug)
        data = {
            "agent": agent.slug,
            "trust_score": agent.trust_score,
            "trust_level": agent.trust_level,
            "trust_updated_at": agent.trust_updated_at,
            "pin": open_pin(agent),
            "latest": trust_history(agent, limit=1).first(),
        }
        return Response(s.AgentTrustSerializer(data).data)


class AgentTrustHistory(generics.ListAPIView):
    """An agent's computations that changed its outcome, newest first."""

    permission_classes = [HasRole]
    serializer_class = s.HistoryPointSerializer
    queryset = TrustComputation.objects.none()  # for the schema; the rows are the agent's

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        agent = _agent(self.request, self.kwargs["slug"])
        return trust_history(agent, limit=10_000)


def _run(service, request, slug: str, body_class):
    """Parse the body, call the pin service on the agent, map its refusals to 403/400."""
    agent = _agent(request, slug)
    # The service's rule, asked before the body: a team member gets a 403, not a 400.
    if not can_decide(request.user):
        raise exceptions.PermissionDenied(
            "only security reviewers and platform admins pin trust levels"
        )
    body = body_class(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        return service(agent=agent, by=request.user, **body.validated_data)
    except TrustForbidden as exc:
        raise exceptions.PermissionDenied(str(exc)) from exc
    except TrustError as exc:
        raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from exc


class AgentTrustPin(APIView):
    """Pin the agent's level (reviewers and platform admins), or release the pin."""

    permission_classes = [HasRole]

    @extend_schema(
        request=s.PinRequestSerializer,
        responses={
            201: s.TrustPinSerializer,
            400: OpenApiResponse(),
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def post(self, request, slug: str):
        pin = _run(trust_pin, request, slug, s.PinRequestSerializer)
        return Response(s.TrustPinSerializer(pin).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ReleaseRequestSerializer,
        responses={
            200: s.TrustPinSerializer,
            400: OpenApiResponse(),
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def delete(self, request, slug: str):
        pin = _run(trust_pin_release, request, slug, s.ReleaseRequestSerializer)
        return Response(s.TrustPinSerializer(pin).data)
