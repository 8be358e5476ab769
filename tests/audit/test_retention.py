"""Archiving a range leaves a signed checkpoint from which the rest of the chain verifies."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from audit import chain
from audit.export import write_export
from audit.models import AuditCheckpoint, AuditEntry
from audit.retention import ArchiveError, archive_range
from audit.services import checkpoint_create, record
from audit.verification import verify_database
from audit.verifier import verify_export
from tests.audit.conftest import CheckpointKey

pytestmark = pytest.mark.django_db


def _chain(n: int) -> None:
    for i in range(n):
        record(actor="agent:bot", action="decision.allow", resource="ledger", changes={"i": i})
    chain.sequence_pending()


def test_archive_then_the_rest_still_verifies(signing_key, tmp_path):
    _chain(10)
    checkpoint_create(signer=signing_key.sign)
    archive_file = tmp_path / "archive-1.jsonl"

    cp = archive_range(through_seq=6, signer=signing_key.sign, path=archive_file, actor="user:ops")

    assert (cp.kind, cp.seq, cp.archived_from_seq) == ("archive", 6, 1)
    assert cp.archive_sha256 == hashlib.sha256(archive_file.read_bytes()).hexdigest()
    assert sorted(AuditEntry.objects.sequenced().values_list("seq", flat=True)) == [7, 8, 9, 10]
    # The archive itself verifies offline, entries 1..6 with the checkpoints inside it.
    archived = verify_export(str(archive_file), signing_key.jwks)
    assert archived.ok and (archived.first_seq, archived.last_seq) == (1, 6)

    # The archive is itself audited, and is chained after the rest.
    entry = AuditEntry.objects.get(action="audit.archive")
    assert entry.actor == "user:ops" and entry.context["removed"] == 6
    chain.sequence_pending()
    checkpoint_create(signer=signing_key.sign)
    report = verify_database(jwks=signing_key.jwks)
    assert report.ok, report.lines()
    assert (report.first_seq, report.last_seq) == (7, 11)

    export = tmp_path / "after.jsonl"
    with export.open("w") as out:
        write_export(out)
    offline = verify_export(str(export), signing_key.jwks)
    assert offline.ok, offline.lines()
    first_record = json.loads(export.read_text().splitlines()[1])
    assert (first_record["type"], first_record["kind"]) == ("checkpoint", "archive")

    # A second archive continues from the first.
    archive_range(through_seq=8, signer=signing_key.sign, path=tmp_path / "archive-2.jsonl")
    chain.sequence_pending()
    assert verify_database(jwks=signing_key.jwks).ok
    assert verify_export(str(tmp_path / "archive-2.jsonl"), signing_key.jwks).ok


def test_whole_log_archived_then_new_entries_chain_from_the_checkpoint(signing_key, tmp_path):
    _chain(3)
    archive_range(through_seq=3, signer=signing_key.sign, path=tmp_path / "a.jsonl")
    chain.sequence_pending()  # the audit.archive entry itself
    entry = AuditEntry.objects.get(action="audit.archive")
    assert entry.seq == 4
    assert entry.prev_hash == AuditCheckpoint.objects.get(kind="archive").hash
    assert verify_database(jwks=signing_key.jwks).ok


def test_archive_refuses_bad_ranges(signing_key, tmp_path):
    with pytest.raises(ArchiveError, match="nothing to archive"):
        archive_range(through_seq=3, signer=signing_key.sign, path=tmp_path / "a.jsonl")
    _chain(3)
    with pytest.raises(ArchiveError, match="not chained yet"):
        archive_range(through_seq=9, signer=signing_key.sign, path=tmp_path / "a.jsonl")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute("UPDATE audit_auditentry SET reason = 'x' WHERE seq = 2")
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
    with pytest.raises(ArchiveError, match="does not verify"):
        archive_range(through_seq=3, signer=signing_key.sign, path=tmp_path / "a.jsonl")
    assert AuditEntry.objects.count() == 3  # evidence kept


def test_gap_behind_an_unsigned_archive_checkpoint_is_caught(signing_key, tmp_path):
    _chain(5)
    # An attacker fakes the archive path with a key that is not the platform's.
    archive_range(through_seq=2, signer=CheckpointKey(kid="other").sign, path=tmp_path / "a.jsonl")
    report = verify_database(jwks=signing_key.jwks)
    kinds = [p.kind for p in report.problems]
    assert kinds[0] == "checkpoint" and "deleted" in kinds, report.lines()


def test_archive_command(signing_key, tmp_path, settings):
    _chain(4)
    settings.AUDIT_CHECKPOINT_SIGNER = "tests.audit.test_retention.module_signer"
    global _MODULE_KEY
    _MODULE_KEY = signing_key
    out = __import__("io").StringIO()
    call_command(
        "audit", "archive", "--through-seq", "2", "-o", str(tmp_path / "a.jsonl"), stdout=out
    )
    assert "archived seq 1..2" in out.getvalue()
    assert verify_database(jwks=signing_key.jwks).ok


_MODULE_KEY: CheckpointKey | None = None


def module_signer(claims: dict) -> str:
    assert _MODULE_KEY is not None
    return _MODULE_KEY.sign(claims)


@pytest.mark.postgres
def test_database_refuses_delete_not_covered_by_an_archive_checkpoint(signing_key, tmp_path):
    _chain(4)
    archive_range(through_seq=2, signer=signing_key.sign, path=tmp_path / "a.jsonl")
    for sql in (
        "DELETE FROM audit_auditentry WHERE seq = 3",
        "UPDATE audit_auditcheckpoint SET seq = 4",
        "DELETE FROM audit_auditcheckpoint",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
