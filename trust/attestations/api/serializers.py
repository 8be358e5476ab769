"""Serializers of the attestations API: attestors (platform admins) and attestations."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from agents.api.fields import SlugRelatedField

from ..models import Attestation, Attestor, ClaimType


class AttestorSerializer(serializers.ModelSerializer):
    """An attestor as read: its public key, what it may say and how much it counts."""

    claim_types = serializers.ListField(child=serializers.ChoiceField(ClaimType.choices))

    class Meta:
        model = Attestor
        fields = [
            "name",
            "display_name",
            "public_jwk",
            "algorithm",
            "kid",
            "jwk_thumbprint",
            "claim_types",
            "cap",
            "status",
            "status_reason",
            "created_at",
            "revoked_at",
        ]
        read_only_fields = [f for f in fields if f not in ("claim_types",)]


class AttestorCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    # Blank means "the default" (the service's): allowed, so the schema's default is valid.
    display_name = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    public_jwk = serializers.JSONField(help_text="Public JWK: P-256 (ES256) or Ed25519 (EdDSA).")
    kid = serializers.CharField(
        max_length=128,
        required=False,
        default="",
        allow_blank=True,
        help_text="Default: the RFC 7638 thumbprint.",
    )
    claim_types = serializers.ListField(
        child=serializers.ChoiceField(ClaimType.choices), allow_empty=False
    )
    cap = serializers.IntegerField(min_value=1, max_value=100)


class AttestorChangeSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=200, required=False)
    claim_types = serializers.ListField(
        child=serializers.ChoiceField(ClaimType.choices), allow_empty=False, required=False
    )
    cap = serializers.IntegerField(min_value=1, max_value=100, required=False)
    reason = serializers.CharField(max_length=1000)


class AttestorRevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class SubmitSerializer(serializers.Serializer):
    # No max_length here: an oversized submission is refused (and audited) as too_large.
    attestation = serializers.CharField(
        trim_whitespace=True,
        help_text="The compact JWS. Or send it as the whole body with Content-Type "
        "application/jose.",
    )


class AttestationSerializer(serializers.ModelSerializer):
    """A stored attestation with its JWS verbatim: verify it yourself with the attestor's key."""

    attestor = SlugRelatedField(slug_field="name", read_only=True)
    agent = SlugRelatedField(slug_field="slug", read_only=True)
    in_force = serializers.SerializerMethodField(
        help_text="Unexpired and its attestor active (whether it is the latest of its kind "
        "is in the agent's trust breakdown)."
    )

    class Meta:
        model = Attestation
        fields = [
            "id",
            "attestor",
            "agent",
            "claim_type",
            "result",
            "jti",
            "issued_at",
            "expires_at",
            "config_digest",
            "in_force",
            "jws",
            "received_at",
        ]
        read_only_fields = fields

    def get_in_force(self, obj: Attestation) -> bool:
        return obj.attestor.is_active and obj.expires_at > timezone.now()


class SubmitErrorSerializer(serializers.Serializer):
    """RFC 6749-style error: a stable code and a sentence."""

    error = serializers.CharField()
    error_description = serializers.CharField()
