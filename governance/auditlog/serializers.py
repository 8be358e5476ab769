"""DRF serializers of audit entries, checkpoints and summaries (read-only)."""

from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditCheckpoint, AuditEntry
from audit.verifier import FIELDS as ENTRY_FIELDS


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "seq", *ENTRY_FIELDS[1:], "prev_hash", "hash"]
        read_only_fields = fields


class AuditCheckpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditCheckpoint
        fields = [
            "id",
            "created_at",
            "kind",
            "seq",
            "hash",
            "key_id",
            "archived_from_seq",
            "archive_sha256",
            "jws",
        ]
        read_only_fields = fields


class SummarySerializer(serializers.Serializer):
    actor = serializers.CharField()
    resource = serializers.CharField()
    action = serializers.CharField()
    workflow_run = serializers.CharField()
    day = serializers.DateField()
    count = serializers.IntegerField()
    text = serializers.CharField()
