"""The audit log's redaction walks lists and nested mappings (issue 13 item 12)."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from audit.redaction import REDACTED
from audit.services import record

pytestmark = pytest.mark.django_db


def test_secrets_inside_lists_and_nested_dicts_are_redacted():
    entry = record(
        actor="system",
        action="test.redaction",
        changes={
            "credentials": [
                {"id": 1, "client_secret": "agcs_leak_1"},
                {"id": 2, "nested": {"private_key": "-----BEGIN leak_2"}},
            ],
            "pairs": [["a", {"password": "leak_3"}]],
            "labels": ["kept", "also kept"],
        },
        context_data={"steps": ({"subject_token": "eyJ.leak_4"},)},
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    text = f"{stored.changes} {stored.context}"
    for leak in ("agcs_leak_1", "leak_2", "leak_3", "leak_4"):
        assert leak not in text
    assert stored.changes["credentials"][0] == {"id": 1, "client_secret": REDACTED}
    assert stored.changes["credentials"][1]["nested"]["private_key"] == REDACTED
    assert stored.changes["labels"] == ["kept", "also kept"]
    assert stored.context["steps"] == [{"subject_token": REDACTED}]
