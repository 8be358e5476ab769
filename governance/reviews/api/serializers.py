"""Serializers of the access review API: read shapes and the inputs of each action."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from agents.api.fields import SlugRelatedField
from agents.models import Sensitivity, Team

from ..models import Campaign, Decision, ReviewItem, ReviewLine


class Username(SlugRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "username")
        super().__init__(**kwargs)


class CampaignSerializer(serializers.ModelSerializer):
    # Nullable and blank values declared as such (the schemathesis run checks every answer).
    team = SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    min_sensitivity = serializers.ChoiceField(
        choices=Sensitivity.choices, read_only=True, allow_blank=True
    )
    reviewers = Username(many=True, read_only=True)
    agents = serializers.IntegerField(source="total", read_only=True, allow_null=True)
    awaiting = serializers.IntegerField(source="pending", read_only=True, allow_null=True)

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "kind", "coverage", "team", "min_sensitivity", "trigger", "reviewers",
            "due_at", "state", "created_by", "created_at", "closed_at", "agents", "awaiting",
        ]  # fmt: skip
        read_only_fields = fields


class CampaignOpenSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    coverage = serializers.ChoiceField(
        choices=[c for c in Campaign.Coverage.choices if c[0] != Campaign.Coverage.AGENT],
        default=Campaign.Coverage.ALL,
    )
    team = SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True
    )
    min_sensitivity = serializers.ChoiceField(
        choices=Sensitivity.choices, required=False, allow_blank=True, default=""
    )
    reviewers = Username(many=True, queryset=get_user_model().objects.all(), required=False)
    due_at = serializers.DateTimeField(required=False, allow_null=True)


class LineSerializer(serializers.ModelSerializer):
    decided_by = Username(read_only=True, allow_null=True)
    decision = serializers.ChoiceField(choices=Decision.choices, read_only=True, allow_blank=True)
    result = serializers.ChoiceField(
        choices=ReviewLine.Result.choices, read_only=True, allow_blank=True
    )

    class Meta:
        model = ReviewLine
        fields = [
            "id", "kind", "label", "sensitivity", "actions", "last_used_at", "uses_30d",
            "uses_90d", "age_days", "recommendation", "recommended_actions", "reason",
            "decision", "reduce_to", "comment", "decided_by", "decided_at", "result",
            "result_detail",
        ]  # fmt: skip
        read_only_fields = fields


class ItemSerializer(serializers.ModelSerializer):
    agent = SlugRelatedField(slug_field="slug", read_only=True)
    team = SlugRelatedField(
        source="agent.owner_team", slug_field="slug", read_only=True, allow_null=True
    )
    decided_by = Username(read_only=True, allow_null=True)
    answered_by = Username(read_only=True, allow_null=True)

    class Meta:
        model = ReviewItem
        fields = [
            "id", "campaign", "agent", "team", "risk", "trust_level", "trust_score", "state",
            "owner_answer", "answered_by", "answered_at", "decided_by", "signed_off_at",
            "outcome", "quarantined_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ItemDetailSerializer(ItemSerializer):
    lines = LineSerializer(many=True, read_only=True, source="ordered_lines")

    class Meta(ItemSerializer.Meta):
        fields = [*ItemSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class LineDecisionSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    reduce_to = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list
    )


class ItemDecideSerializer(serializers.Serializer):
    accept_recommendations = serializers.BooleanField(required=False, default=False)
    lines = LineDecisionSerializer(many=True, required=False, default=list)

    def validate(self, data):
        if not data["lines"] and not data["accept_recommendations"]:
            raise serializers.ValidationError("give lines, or accept_recommendations")
        ids = [line["line"] for line in data["lines"]]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError({"lines": "each line at most once"})
        return data


class AnswerSerializer(serializers.Serializer):
    justification = serializers.CharField(max_length=5000)


class UsageSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    detail = serializers.CharField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    uses_30d = serializers.IntegerField()
    uses_90d = serializers.IntegerField()


class EvidenceSerializer(serializers.Serializer):
    agent = serializers.CharField()
    as_of = serializers.DateTimeField(allow_null=True)
    grants = UsageSerializer(many=True)
    connections = UsageSerializer(many=True)
    credentials = UsageSerializer(many=True)


class ReviewerStatsSerializer(serializers.Serializer):
    username = serializers.CharField()
    items = serializers.IntegerField()
    lines = serializers.IntegerField()
    kept = serializers.IntegerField()
    keep_ratio = serializers.FloatField()
    median_seconds = serializers.FloatField(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField())


class ReportSerializer(serializers.Serializer):
    campaign = CampaignSerializer()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField())
    reviewers = ReviewerStatsSerializer(many=True)
