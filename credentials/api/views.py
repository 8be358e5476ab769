"""The credentials API: humans manage credentials; agents rotate their own with client auth.

Credentials of agents or resource servers one cannot see are a 404. Issuing and rotating (also
an emergency rotation: it hands out the successor's secret) need ``manage_team`` on the owner;
revoking (containment) is also open to reviewers. The credential services check the same.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from agents.models import Resource
from agents.permissions import (
    agents_visible_to,
    can_decide,
    can_manage_team,
    has_any_role,
    teams_visible_to,
)

from .. import selectors, services
from ..client_auth import authenticate_client
from ..errors import CredentialError, CredentialForbidden, OAuthError
from ..models import Credential
from ..oauth.views import error_response
from . import serializers as s

NOT_FOUND = OpenApiResponse(description="No such credential, or not one you may see.")
# A response that carries a new secret is its only copy: no cache may keep it (RFC 9111).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _owner_team_id(credential: Credential) -> int | None:
    return (
        credential.agent.owner_team_id if credential.agent_id else credential.resource.owner_team_id
    )


class CredentialViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Credentials of agents and resource servers (never a secret, except once on issue)."""

    serializer_class = s.CredentialSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["status", "kind"]

    def get_queryset(self):
        user = self.request.user
        if not has_any_role(user):
            return Credential.objects.none()
        qs = Credential.objects.visible_to(user).select_related("agent", "resource")
        params = self.request.query_params
        if params.get("agent"):
            qs = qs.filter(agent__slug=params["agent"])
        if params.get("resource"):
            qs = qs.filter(resource__slug=params["resource"])
        return qs.order_by("-created_at")

    def handle_exception(self, exc):
        if isinstance(exc, CredentialForbidden):
            exc = exceptions.PermissionDenied(str(exc))
        elif isinstance(exc, CredentialError):
            exc = exceptions.ValidationError({"non_field_errors": [str(exc)]})
        return super().handle_exception(exc)

    def _require_manage(self, team_id: int | None) -> None:
        if not can_manage_team(self.request.user, team_id):
            raise exceptions.PermissionDenied(
                "Only the owning team's managers or a platform admin may issue or rotate its "
                "credentials; a reviewer contains by revoking."
            )

    def _require_contain(self, credential: Credential) -> None:
        if not (
            can_decide(self.request.user)
            or can_manage_team(self.request.user, _owner_team_id(credential))
        ):
            raise exceptions.PermissionDenied("You may not revoke this credential.")

    @extend_schema(request=s.CredentialIssueSerializer, responses={201: s.IssuedSerializer})
    def create(self, request):
        body = s.CredentialIssueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if bool(data.get("agent")) == bool(data.get("resource")):
            raise exceptions.ValidationError({"non_field_errors": ["name an agent or a resource"]})
        if data.get("agent"):
            agent = get_object_or_404(agents_visible_to(request.user), slug=data["agent"])
            self._require_manage(agent.owner_team_id)
            principal: dict[str, Any] = {"agent": agent}
        else:
            resource = get_object_or_404(Resource.objects.all(), slug=data["resource"])
            visible = teams_visible_to(request.user).filter(pk=resource.owner_team_id).exists()
            if not (visible or can_decide(request.user)):
                raise Http404
            self._require_manage(resource.owner_team_id)
            principal = {"resource": resource}
        issued = services.credential_issue(
            **principal,
            kind=data["kind"],
            public_jwk=data.get("public_jwk"),
            label=data.get("label", ""),
            expires_at=data.get("expires_at"),
            by=request.user,
        )
        return Response(
            selectors.issued_credential_json(issued),
            status=status.HTTP_201_CREATED,
            headers=NO_STORE,
        )

    @extend_schema(
        request=s.ReasonSerializer, responses={200: s.CredentialSerializer, 404: NOT_FOUND}
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        credential = self.get_object()
        self._require_contain(credential)
        body = s.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.credential_revoke(
            credential=credential, by=request.user, reason=body.validated_data["reason"]
        )
        credential.refresh_from_db()
        return Response(s.CredentialSerializer(credential).data)

    @extend_schema(request=s.RotateSerializer, responses={201: s.IssuedSerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["post"], url_path="rotate")
    def rotate_one(self, request, pk=None):
        credential = self.get_object()
        body = s.RotateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # Even in an emergency a rotation hands the successor's secret to the caller: only the
        # owning team's managers and platform admins. Reviewers contain with revoke/.
        self._require_manage(_owner_team_id(credential))
        issued = services.credential_rotate(
            credential=credential,
            by=request.user,
            emergency=body.validated_data["emergency"],
            public_jwk=body.validated_data.get("public_jwk"),
            reason=body.validated_data["reason"],
        )
        return Response(
            selectors.issued_credential_json(issued),
            status=status.HTTP_201_CREATED,
            headers=NO_STORE,
        )

    @extend_schema(request=s.RevokeAllSerializer, responses={200: s.RevokedCountSerializer})
    @action(detail=False, methods=["post"], url_path="revoke-all")
    def revoke_all(self, request):
        body = s.RevokeAllSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        agent = get_object_or_404(
            agents_visible_to(request.user), slug=body.validated_data["agent"]
        )
        if not (can_decide(request.user) or can_manage_team(request.user, agent.owner_team_id)):
            raise exceptions.PermissionDenied("You may not revoke this agent's credentials.")
        count = services.credential_revoke_all(
            agent=agent, by=request.user, reason=body.validated_data["reason"]
        )
        return Response({"revoked": count})


@csrf_exempt
@sensitive_post_parameters("client_secret", "client_assertion")
def self_rotate(request: HttpRequest) -> HttpResponse:
    """``POST /api/v1/credentials/rotate``: a client rotates the credential it authenticates with.

    Client authentication as at the token endpoint. Form or JSON body: ``emergency`` (the
    predecessor dies now) and, for a key credential, ``public_jwk`` (the new public key).
    """
    if request.method != "POST":
        response = JsonResponse({"error": "invalid_request"}, status=405)
        response["Allow"] = "POST"
        return response
    try:
        # Agents and resource servers alike rotate the credential they authenticate with.
        client = authenticate_client(request)
        params: dict[str, Any] = dict(request.POST.items())
        if request.content_type == "application/json":
            try:
                params = json.loads(request.body or b"{}")
            except ValueError as exc:
                raise OAuthError("invalid_request", "the body is not JSON") from exc
            if not isinstance(params, dict):
                raise OAuthError("invalid_request", "the body must be a JSON object")
        jwk = params.get("public_jwk")
        if isinstance(jwk, str):
            try:
                jwk = json.loads(jwk)
            except ValueError as exc:
                raise OAuthError("invalid_request", "public_jwk is not JSON") from exc
        emergency = str(params.get("emergency", "")).lower() in ("1", "true", "yes")
        try:
            issued = services.credential_rotate(
                credential=client.credential,
                by=client.principal,
                emergency=emergency,
                public_jwk=jwk,
                reason="self-rotation" + (" (emergency)" if emergency else ""),
            )
        except CredentialError as exc:
            raise OAuthError("invalid_request", str(exc)) from exc
    except OAuthError as exc:
        return error_response(exc)
    except DatabaseError:
        # Nothing rotated (the transaction rolled back): a 503 to retry, never a 500.
        return error_response(OAuthError("temporarily_unavailable", "try again later", status=503))
    response = JsonResponse(selectors.issued_credential_json(issued), status=201)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
