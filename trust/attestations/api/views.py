"""The attestations API: attestors for platform admins; attestations submitted and read.

``POST /api/v1/attestations/`` takes no session and no token: the JWS's signature is what
authenticates the attestor. A refusal is a 400 with an RFC 6749-style ``error`` code and
``error_description`` (audited); an address whose submissions keep being refused waits (429),
which also bounds how many refusals one source can write into the audit log.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response

from agents.api.views import _django_validation
from agents.permissions import can_see_everything, has_any_role, is_platform_admin

from .. import selectors, services
from ..models import Attestation, Attestor
from ..verify import MAX_JWS_BYTES, Rejected
from . import serializers as s

NOT_FOUND = OpenApiResponse(description="No such object, or not one you may see.")
REFUSED = OpenApiResponse(s.SubmitErrorSerializer, description="Refused (audited).")


class JoseParser(BaseParser):
    """``application/jose`` (RFC 7515 §9.2.1): the body is the compact JWS itself."""

    media_type = "application/jose"

    def parse(self, stream, media_type=None, parser_context=None) -> dict:
        raw = stream.read(MAX_JWS_BYTES + 1) if stream is not None else b""
        try:
            return {"attestation": raw.decode("ascii").strip()}
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError("a compact JWS is ASCII") from exc


class AttestorAccess(BasePermission):
    """Reviewers and admins read attestors; only platform admins change them."""

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return can_see_everything(request.user)
        return is_platform_admin(request.user)


class AttestorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Attestors: who may sign statements about agents, with which key, for what, how much."""

    serializer_class = s.AttestorSerializer
    permission_classes = [AttestorAccess]
    lookup_field = "name"
    filterset_fields = ["status"]

    def get_queryset(self):
        return Attestor.objects.order_by("name")

    def handle_exception(self, exc):
        if isinstance(exc, services.AttestorForbidden):
            exc = exceptions.PermissionDenied(str(exc))
        elif isinstance(exc, services.AttestorError):
            exc = exceptions.ValidationError({"non_field_errors": [str(exc)]})
        elif isinstance(exc, DjangoValidationError):
            exc = _django_validation(exc)
        return super().handle_exception(exc)

    @extend_schema(request=s.AttestorCreateSerializer, responses={201: s.AttestorSerializer})
    def create(self, request):
        body = s.AttestorCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        attestor = services.attestor_register(**body.validated_data, by=request.user)
        return Response(s.AttestorSerializer(attestor).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.AttestorChangeSerializer, responses={200: s.AttestorSerializer, 404: NOT_FOUND}
    )
    def partial_update(self, request, name=None):
        attestor = self.get_object()
        body = s.AttestorChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        attestor = services.attestor_change(
            attestor=attestor, by=request.user, **body.validated_data
        )
        return Response(s.AttestorSerializer(attestor).data)

    @extend_schema(
        request=s.AttestorRevokeSerializer, responses={200: s.AttestorSerializer, 404: NOT_FOUND}
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, name=None):
        """Revoke: its attestations stay stored and verifiable but count for nothing."""
        attestor = self.get_object()
        body = s.AttestorRevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        attestor = services.attestor_revoke(
            attestor=attestor, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(s.AttestorSerializer(attestor).data)


def _throttle_key(request) -> str:
    return f"attest:refused:{request.META.get('REMOTE_ADDR') or 'unknown'}"


def _refusal(code: str, description: str, http_status: int = 400, **headers) -> Response:
    return Response(
        {"error": code, "error_description": description},
        status=http_status,
        headers={"Cache-Control": "no-store", **headers},
    )


class AttestationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Attestations about agents: submitted by attestors, read by the agents' teams and
    reviewers (another team's agent's attestations are a 404)."""

    queryset = Attestation.objects.none()  # per user: see get_queryset
    serializer_class = s.AttestationSerializer
    filterset_fields = ["claim_type", "result"]

    def _submitting(self) -> bool:
        # The Django request is set before DRF wraps it; the schema generator sets only action.
        method = getattr(self.request, "method", None)
        return method == "POST" if method else getattr(self, "action", None) == "create"

    def get_authenticators(self):
        # A submission authenticates by its signature: no session (so no CSRF), no token.
        return [] if self._submitting() else super().get_authenticators()

    def get_permissions(self):
        return [AllowAny()] if self._submitting() else super().get_permissions()

    def get_parsers(self):
        return [JoseParser(), JSONParser()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Attestation.objects.none()
        user = self.request.user
        if not has_any_role(user):
            raise exceptions.PermissionDenied("You have no role in this portal.")
        qs = selectors.attestations_visible(user)
        params = self.request.query_params
        if params.get("agent"):
            qs = qs.filter(agent__slug=params["agent"])
        if params.get("attestor"):
            qs = qs.filter(attestor__name=params["attestor"])
        return qs.order_by("-received_at", "-id")

    @extend_schema(responses={200: s.AttestationSerializer, 404: NOT_FOUND})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    def get_object(self):
        if not str(self.kwargs.get("pk", "")).isdigit():
            raise Http404
        return super().get_object()

    @extend_schema(
        auth=[],
        request={
            "application/jose": OpenApiTypes.STR,
            "application/json": s.SubmitSerializer,
        },
        responses={
            201: s.AttestationSerializer,
            400: REFUSED,
            429: OpenApiResponse(s.SubmitErrorSerializer, description="Too many refusals."),
        },
        summary="Submit a signed attestation (the JWS authenticates the attestor)",
        description=(
            "A compact JWS signed with the attestor's registered key (ES256 for P-256, EdDSA "
            "or Ed25519 for Ed25519; the key pins it). Header: alg, kid and/or iss naming the "
            "attestor, typ attestation+jwt (optional); nothing else. Claims: iss, sub "
            "(agent:<slug>), jti (unique per attestor), iat, exp, claim_type, result (pass or "
            "fail), config_digest (optional, sha256:<hex>), aud (optional: the issuer URL)."
        ),
    )
    def create(self, request):
        window, limit = (
            settings.ATTESTATION_REFUSALS_PER_ADDRESS[1],
            (settings.ATTESTATION_REFUSALS_PER_ADDRESS[0]),
        )
        key = _throttle_key(request)
        if (cache.get(key) or 0) >= limit:
            return _refusal(
                "slow_down",
                "too many refused submissions from this address; try later",
                status.HTTP_429_TOO_MANY_REQUESTS,
                **{"Retry-After": str(window)},
            )
        try:
            body = s.SubmitSerializer(data=request.data)
            valid = body.is_valid()
        except exceptions.ParseError as exc:
            return _refusal("invalid_request", str(exc.detail))
        if not valid:
            errors = body.errors.get("attestation", ["the attestation is missing"])
            return _refusal("invalid_request", f"attestation: {errors[0]}")
        try:
            attestation = services.attestation_submit(jws=body.validated_data["attestation"])
        except Rejected as exc:
            if not cache.add(key, 1, timeout=window):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.add(key, 1, timeout=window)
            return _refusal(exc.code, exc.description)
        return Response(s.AttestationSerializer(attestation).data, status=status.HTTP_201_CREATED)
