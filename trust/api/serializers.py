"""Serializers of the trust API: the policy, an agent's trust, its history, pins."""

from __future__ import annotations

from rest_framework import serializers

from agents.models import TrustLevel

from ..models import TrustComputation, TrustPin, TrustPolicy
from ..policy import EDITABLE


class TrustPolicySerializer(serializers.ModelSerializer):
    # The built-in default policy, before anyone saved a version, has no creation time.
    created_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = TrustPolicy
        fields = ["version", *EDITABLE, "created_at", "created_by", "reason"]
        read_only_fields = fields


class TrustPolicyChangeSerializer(serializers.Serializer):
    """A change: any editable fields plus a reason; the service validates the whole version."""

    reason = serializers.CharField()

    def get_fields(self):
        fields = super().get_fields()
        # The model's own fields, all optional: a change names only what it changes. Bounds
        # and cross-field rules are the model's (``TrustPolicy.full_clean``).
        for name in EDITABLE:
            field = TrustPolicy._meta.get_field(name)
            if isinstance(field.default, bool):
                fields[name] = serializers.BooleanField(required=False)
            elif isinstance(field.default, float):
                fields[name] = serializers.FloatField(required=False)
            else:
                fields[name] = serializers.IntegerField(required=False)
        return fields


class TrustPinSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrustPin
        fields = ["level", "reason", "created_by", "created_at", "expires_at", "ended_at"]
        read_only_fields = fields


class PinRequestSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=TrustLevel.choices)
    reason = serializers.CharField()
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ReleaseRequestSerializer(serializers.Serializer):
    reason = serializers.CharField()


class FactorSerializer(serializers.Serializer):
    component = serializers.CharField()
    code = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["met", "partial", "unmet", "insufficient_data"],
        help_text="insufficient_data earns nothing and says so; it is never a neutral default.",
    )
    points = serializers.FloatField(help_text="What the factor adds to the 0–100 score.")
    earned = serializers.FloatField(help_text="Points earned inside its component.")
    possible = serializers.FloatField(help_text="Points at stake inside its component.")
    sentence = serializers.CharField()
    advice = serializers.CharField(help_text="What would raise the score, with the points.")
    window_start = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField(allow_null=True)


class TrustComputationSerializer(serializers.ModelSerializer):
    policy_version = serializers.IntegerField(source="policy.version")
    pinned = serializers.SerializerMethodField()
    factors = FactorSerializer(many=True)

    class Meta:
        model = TrustComputation
        fields = [
            "computed_at",
            "score",
            "computed_level",
            "level",
            "caps",
            "pinned",
            "policy_version",
            "factors",
        ]

    def get_pinned(self, obj) -> bool:
        return obj.pin_id is not None


class HistoryPointSerializer(serializers.ModelSerializer):
    policy_version = serializers.IntegerField(source="policy.version")

    class Meta:
        model = TrustComputation
        fields = ["computed_at", "score", "computed_level", "level", "caps", "policy_version"]


class AgentTrustSerializer(serializers.Serializer):
    agent = serializers.CharField()
    trust_score = serializers.IntegerField(help_text="The engine's score (a pin never sets it).")
    trust_level = serializers.ChoiceField(choices=TrustLevel.choices)
    trust_updated_at = serializers.DateTimeField(allow_null=True)
    pin = TrustPinSerializer(allow_null=True, help_text="The open pin, if a person set one.")
    latest = TrustComputationSerializer(
        allow_null=True, help_text="The latest stored computation, with its breakdown."
    )
