"""PostgreSQL: the application role cannot get around the audit triggers, nor can the owner
truncate or insert a chained row; the documented grants are enough to run the audit path.

The roles are made here (the test cluster trusts the superuser ``postgres``), with names of
their own, inside the test's transaction: its rollback removes them again.
"""

from __future__ import annotations

import contextlib
import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from audit import chain
from audit.roles import app_role_sql, quote_identifier
from audit.services import checkpoint_create, record
from audit.verification import verify_database

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

H = "a" * 64  # a well-formed hash
FUNCTIONS = (
    "audit_entry_append_only()",
    "audit_checkpoint_append_only()",
    "audit_refuse_truncate()",
    "audit_entry_refuse_chained_insert()",
)


class _Undo(Exception):
    """Rolls a savepoint back on purpose."""


@pytest.fixture
def roles():
    """(owner, app): the owner owns the audit tables and their trigger functions, as after a
    ``migrate`` run by it; the app role has exactly ``manage.py audit grants``'s privileges."""
    suffix = uuid.uuid4().hex[:12]
    owner, app = f"audit_owner_{suffix}", f"audit_app_{suffix}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {quote_identifier(owner)}")
        cursor.execute(f"CREATE ROLE {quote_identifier(app)}")
        for table in ("audit_auditentry", "audit_auditcheckpoint"):
            cursor.execute(f"ALTER TABLE {table} OWNER TO {quote_identifier(owner)}")
        for function in FUNCTIONS:
            cursor.execute(f"ALTER FUNCTION {function} OWNER TO {quote_identifier(owner)}")
        for statement in app_role_sql(app):
            cursor.execute(statement)
    return owner, app


@contextlib.contextmanager
def acting_as(role: str):
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {quote_identifier(role)}")
        try:
            yield cursor
        finally:
            cursor.execute("RESET ROLE")


def _refused(cursor, sql: str, params=()) -> str:
    """Run ``sql`` in a savepoint; return the database's refusal (fails if it was accepted)."""
    try:
        with transaction.atomic():
            cursor.execute(sql, list(params))
    except DatabaseError as exc:
        return str(exc)
    pytest.fail(f"accepted: {sql}")


def _chained_insert(seq: int) -> tuple[str, list]:
    return (
        "INSERT INTO audit_auditentry (created_at, actor, actor_id, on_behalf_of, action, "
        "outcome, reason, resource, target_type, target_id, workflow_run, token_jti, "
        "credential_id, request_id, source_ip, changes, context, seq, prev_hash, hash) VALUES "
        "(now(), 'user:mallory', '', '[]', 'grant.create', 'success', '', '', '', '', '', '', "
        "'', '', NULL, '{}', '{}', %s, %s, %s)",
        [seq, H, H],
    )


def test_the_app_role_runs_the_audit_path_and_cannot_bypass_the_triggers(roles, signing_key):
    _owner, app = roles
    with acting_as(app) as cursor:
        # What the application does works under the granted privileges ...
        for i in range(3):
            record(actor="agent:bot", action="decision.allow", changes={"i": i})
        assert chain.sequence_pending() == 3
        assert checkpoint_create(signer=signing_key.sign).seq == 3
        unchained = record(actor="agent:bot", action="decision.allow")
        assert verify_database(jwks=signing_key.jwks).ok

        # ... and nothing of what an attacker holding its connection would try.
        attempts = [
            "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only",
            "ALTER TABLE audit_auditentry DISABLE TRIGGER USER",
            "DROP TRIGGER audit_entry_append_only ON audit_auditentry",
            "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS "
            "$$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
            "ALTER TABLE audit_auditentry OWNER TO CURRENT_USER",
            "SET session_replication_role = replica",
            "TRUNCATE audit_auditentry",
            "TRUNCATE audit_auditcheckpoint",
            "DELETE FROM audit_auditentry WHERE seq = 2",
            "DELETE FROM audit_auditcheckpoint",
            "UPDATE audit_auditentry SET reason = 'nothing to see' WHERE seq = 2",
            f"UPDATE audit_auditentry SET hash = '{H}' WHERE seq = 2",
            f"UPDATE audit_auditcheckpoint SET hash = '{H}'",
            # The unchained row: only the sequencer's assignment of all three columns, once.
            f"UPDATE audit_auditentry SET reason = 'x', seq = 99, prev_hash = '{H}', "
            f"hash = '{H}' WHERE id = {unchained.pk}",
            f"UPDATE audit_auditentry SET hash = '{H}' WHERE id = {unchained.pk}",
        ]
        for sql in attempts:
            _refused(cursor, sql)
        assert "sequencer" in _refused(cursor, *_chained_insert(4))
        # A fake archive checkpoint would make the trigger accept a DELETE: still no DELETE.
        with pytest.raises(_Undo), transaction.atomic():
            cursor.execute(
                "INSERT INTO audit_auditcheckpoint (created_at, kind, seq, hash, jws, key_id, "
                "archived_from_seq, archive_sha256, archive_name) VALUES "
                "(now(), 'archive', 3, %s, 'x', '', 1, '', '')",
                [H],
            )
            assert "permission denied" in _refused(
                cursor, "DELETE FROM audit_auditentry WHERE seq <= 3"
            )
            raise _Undo

    assert verify_database(jwks=signing_key.jwks).ok
    assert chain.sequence_pending() == 1


def test_the_owner_cannot_truncate_or_insert_a_chained_row(roles):
    owner, _app = roles
    record(actor="agent:bot", action="decision.allow")
    chain.sequence_pending()
    with acting_as(owner) as cursor:
        assert "TRUNCATE is refused" in _refused(cursor, "TRUNCATE audit_auditentry")
        assert "TRUNCATE is refused" in _refused(cursor, "TRUNCATE audit_auditcheckpoint")
        assert "sequencer" in _refused(cursor, *_chained_insert(2))
        _refused(cursor, "DELETE FROM audit_auditentry")
        # The owner can switch its own table's triggers off: that is what the signed
        # checkpoints, the anchor and the witness are for (tests/audit/test_rewrite.py).


def test_grants_command_prints_the_statements(roles):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("audit", "grants", "--app-role", 'odd"name', stdout=out)
    text = out.getvalue()
    assert (
        'GRANT UPDATE ("seq", "prev_hash", "hash") ON TABLE "audit_auditentry" TO "odd""name";'
        in (text)
    )
    assert "DELETE" not in text.split("REVOKE ALL")[1]
