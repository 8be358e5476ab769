"""Audit entries cannot change: through the ORM anywhere, by trigger on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from audit.models import AppendOnlyError, AuditEntry
from audit.services import record

pytestmark = pytest.mark.django_db

H = "a" * 64  # a well-formed hash


def test_orm_refuses_update_and_delete():
    entry = record(actor="system", action="test.thing")
    entry.reason = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="changed")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""


def test_secrets_are_redacted():
    entry = record(
        actor="system",
        action="test.thing",
        changes={"client_secret": "s3cr3t", "credential_id": "12", "name": "x"},
    )
    assert entry.changes == {"client_secret": "[redacted]", "credential_id": "12", "name": "x"}


@pytest.mark.parametrize(
    ("key", "hidden"),
    [
        ("subject_token", True),
        ("api_token", True),
        ("client_assertion", True),
        ("private_jwk", True),
        ("password", True),
        ("access_token_lifetime_seconds", False),
        ("assertion_jtis", False),
        ("token_jti", False),
        ("credential_id", False),
    ],
)
def test_redaction_hides_secrets_not_settings_named_after_them(key, hidden):
    entry = record(actor="system", action="test.thing", changes={key: "value"})
    assert (entry.changes[key] == "[redacted]") is hidden


@pytest.mark.postgres
def test_database_trigger_refuses_raw_sql_changes():
    entry = record(actor="system", action="test.thing")
    for sql in (
        "UPDATE audit_auditentry SET reason = 'x' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    # The sequencer's one-time assignment is allowed; after it, nothing is.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET seq = 1, prev_hash = %s, hash = %s WHERE id = %s",
            [H, H, entry.pk],
        )
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditentry SET hash = %s WHERE id = %s", ["b" * 64, entry.pk])


def _changed(column: str, internal_type: str) -> str:
    """A SQL expression giving ``column`` a different value of its own type."""
    return {
        "BigAutoField": f"{column} + 1000000",
        "DateTimeField": f"{column} + interval '1 microsecond'",
        "JSONField": """'{"tampered": true}'::jsonb""",
        "GenericIPAddressField": "'192.0.2.99'::inet",
    }.get(internal_type, f"{column} || 'x'")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "field",
    [f for f in AuditEntry._meta.concrete_fields if f.name not in ("seq", "prev_hash", "hash")],
    ids=lambda f: f.name,
)
def test_trigger_protects_every_column_of_an_unchained_entry(field):
    # Every column, including any added later: the trigger compares whole rows.
    entry = record(actor="system", action="test.thing", context_data={"k": 1})
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"UPDATE audit_auditentry SET {field.column} = "
            f"{_changed(field.column, field.get_internal_type())}, seq = 1, prev_hash = %s, "
            "hash = %s WHERE id = %s",
            [H, H, entry.pk],
        )
    # ... while the chain columns alone may be set, once.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET seq = 1, prev_hash = %s, hash = %s WHERE id = %s",
            [H, H, entry.pk],
        )
        assert cursor.rowcount == 1
