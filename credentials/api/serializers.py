"""Serializers of the credentials API: never a secret or its HMAC, except once on issue."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Credential


class CredentialSerializer(serializers.ModelSerializer):
    client_id = serializers.CharField(read_only=True)
    principal = serializers.CharField(read_only=True)
    created_by = serializers.CharField(source="created_by_principal", read_only=True)

    class Meta:
        model = Credential
        fields = [
            "id",
            "client_id",
            "principal",
            "kind",
            "label",
            "status",
            "status_reason",
            "algorithm",
            "jwk_thumbprint",
            "public_jwk",
            "not_before",
            "expires_at",
            "last_used_at",
            "created_at",
            "created_by",
            "predecessor",
        ]
        read_only_fields = fields


class CredentialIssueSerializer(serializers.Serializer):
    agent = serializers.CharField(required=False, max_length=64)
    resource = serializers.CharField(required=False, max_length=64)
    kind = serializers.ChoiceField(choices=Credential.Kind.choices, default="client_secret")
    public_jwk = serializers.JSONField(required=False)
    label = serializers.CharField(required=False, allow_blank=True, max_length=200)
    expires_at = serializers.DateTimeField(required=False)


class IssuedSerializer(CredentialSerializer):
    client_secret = serializers.CharField(
        read_only=True, help_text="Shown once, in this response only."
    )

    class Meta(CredentialSerializer.Meta):
        fields = [*CredentialSerializer.Meta.fields, "client_secret"]
        read_only_fields = fields


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RotateSerializer(ReasonSerializer):
    emergency = serializers.BooleanField(default=False)
    public_jwk = serializers.JSONField(required=False)


class RevokeAllSerializer(ReasonSerializer):
    agent = serializers.CharField(max_length=64)


class RevokedCountSerializer(serializers.Serializer):
    revoked = serializers.IntegerField()
