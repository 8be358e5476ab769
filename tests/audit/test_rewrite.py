"""Rewriting the log as whoever can write the database would, and both verifiers failing it.

The attacks of issue 13 (item 2): delete the checkpoints, edit and re-hash; as the tables'
owner on PostgreSQL, empty them and insert a re-hashed chain without an entry a signed
checkpoint covered; delete the tail. Each verifier is given a trusted reference from outside
the database (an anchor noted earlier, checkpoints saved from the API, the witness) and must
fail with a non-zero exit; without one, the checkpoint policy still catches what it can.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from audit import chain
from audit.models import AuditCheckpoint
from audit.roles import quote_identifier
from audit.services import record
from audit.verifier import entry_hash
from governance.auditlog.keys import public_jwks
from governance.auditlog.tasks import checkpoint

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
LATER = dt.timedelta(minutes=20)  # past the 10-minute checkpoint policy


@pytest.fixture
def witness_file(tmp_path, settings):
    path = tmp_path / "witness.jsonl"
    settings.AUDIT_WITNESS_URL = str(path)
    return path


@pytest.fixture(autouse=True)
def platform_key():
    """The platform key exists before a test's entries (making it writes entries of its own)."""
    from credentials.signing import current_kid

    current_kid()
    chain.sequence_pending()


@pytest.fixture
def jwks_file(tmp_path):
    out = io.StringIO()
    call_command("credentials", "jwks", "--all", stdout=out)
    path = tmp_path / "jwks.json"
    path.write_text(out.getvalue())
    return path


def _signed_chain(n: int = 10) -> int:
    """n more entries, chained and signed by the real checkpoint task; returns the head's seq."""
    for i in range(n):
        record(actor=f"agent:bot-{i % 3}", action="decision.allow", reason=f"entry {i}")
    chain.sequence_pending()
    head = checkpoint.apply().get()
    assert head == chain.chain_head()[0]
    return head


def _anchor() -> str:
    seq, digest = chain.chain_head()
    return f"{seq}:{digest}"


@contextlib.contextmanager
def superuser_sql():
    """Raw SQL with every audit trigger off (PostgreSQL) — what the database owner can do."""
    tables = ("audit_auditentry", "audit_auditcheckpoint")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                for table in tables:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def _rehash_from(cursor, seq: int) -> None:
    """Re-hash every entry from ``seq`` on so the chain is consistent again."""
    cursor.execute("SELECT hash FROM audit_auditentry WHERE seq = %s", [seq - 1])
    prev = cursor.fetchone()[0]
    for link, _row in list(chain.iter_links(from_seq=seq)):
        digest = entry_hash(link.values, prev)
        cursor.execute(
            "UPDATE audit_auditentry SET prev_hash = %s, hash = %s WHERE seq = %s",
            [prev, digest, link.seq],
        )
        prev = digest


def _verify(*args: str) -> tuple[int, str]:
    """``manage.py audit verify`` (the platform's JWKS): exit status and output."""
    out = io.StringIO()
    try:
        call_command("audit", "verify", "--workers", "1", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def _verify_offline(tmp_path, jwks_file, *args: str) -> tuple[int, str]:
    export = tmp_path / f"export-{uuid.uuid4().hex[:6]}.jsonl"
    call_command("audit", "export", "-o", str(export))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    ran = subprocess.run(
        [sys.executable, "-m", "audit.verifier", str(export), "--jwks", str(jwks_file), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    return ran.returncode, ran.stdout + ran.stderr


def test_untouched_log_verifies_against_every_reference(tmp_path, witness_file, jwks_file, client):
    _signed_chain()
    anchor = _anchor()
    saved = tmp_path / "saved.json"
    saved.write_text(client.get("/api/v1/audit/checkpoints/").content.decode())
    for args in ([], ["--anchor", anchor], ["--checkpoints", str(saved)], ["--no-witness"]):
        status, out = _verify(*args)
        assert status == 0, out
    assert "reference(s) checked" in _verify("--anchor", anchor)[1]
    status, out = _verify_offline(tmp_path, jwks_file, "--witness", str(witness_file))
    assert status == 0, out


def test_deleting_the_checkpoints_then_rewriting_fails_against_the_references(
    tmp_path, witness_file, jwks_file, client
):
    head = _signed_chain()
    anchor = _anchor()
    saved = tmp_path / "saved.json"
    saved.write_text(client.get("/api/v1/audit/checkpoints/").content.decode())

    with superuser_sql() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint")
        cursor.execute(
            "UPDATE audit_auditentry SET reason = 'nothing to see' WHERE seq = %s", [head - 7]
        )
        _rehash_from(cursor, head - 7)

    # Consistent again, and nothing in the database contradicts it ...
    status, out = _verify("--no-witness")
    assert status == 0, out
    assert "no anchor or witness was checked" in out
    # ... but each reference kept outside it does, in the database and offline.
    for args in (["--anchor", anchor], ["--checkpoints", str(saved)], []):
        status, out = _verify(*args)
        assert status == 1, (args, out)
        assert "ANCHOR: " in out and f"rewritten up to seq {head}" in out, out
    for args in (["--anchor", anchor], ["--witness", str(witness_file)]):
        status, out = _verify_offline(tmp_path, jwks_file, *args)
        assert status == 1 and f"rewritten up to seq {head}" in out, (args, out)


def test_deleted_checkpoints_are_missing_from_the_witness(tmp_path, witness_file, jwks_file):
    head = _signed_chain()
    with superuser_sql() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint")
    status, out = _verify()
    assert status == 1
    assert f"MISSING: the checkpoint of seq {head} signed" in out
    assert "(in the witness (line 1)) is not among the chain's checkpoints" in out
    status, out = _verify_offline(tmp_path, jwks_file, "--witness", str(witness_file))
    assert status == 1 and f"MISSING: the checkpoint of seq {head}" in out, out


def test_with_no_reference_the_policy_fails_a_log_left_without_checkpoints(tmp_path, jwks_file):
    head = _signed_chain()
    with superuser_sql() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint")
    report_now = _verify("--no-witness")
    assert report_now[0] == 0 and "no signed checkpoint covers" in report_now[1]

    from audit.verification import verify_database

    later = verify_database(jwks=public_jwks(), max_age=600, now=dt.datetime.now(dt.UTC) + LATER)
    assert [p.kind for p in later.problems] == ["missing"], later.lines()
    status, out = _verify_offline(
        tmp_path, jwks_file, "--at", (dt.datetime.now(dt.UTC) + LATER).isoformat()
    )
    assert status == 1 and f"MISSING: no signed checkpoint covers seq 1..{head}" in out, out


def test_deleting_the_signed_tail_and_its_checkpoint_fails_against_the_witness(
    tmp_path, witness_file, jwks_file
):
    kept = _signed_chain(8)
    head = _signed_chain(2)
    with superuser_sql() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq > %s", [kept])
        cursor.execute("DELETE FROM audit_auditcheckpoint WHERE seq > %s", [kept])

    assert _verify("--no-witness")[0] == 0  # the database alone cannot tell
    status, out = _verify()
    assert status == 1
    assert (
        f"DELETED: the chain ends at seq {kept}, but the witness (line 2) names seq {head}" in out
    )
    status, out = _verify_offline(tmp_path, jwks_file, "--witness", str(witness_file))
    assert status == 1 and f"the chain ends at seq {kept}" in out, out


def test_the_unsigned_tail_is_said_plainly_and_a_stale_checkpoint_fails(tmp_path, jwks_file):
    from audit.verification import verify_database

    signed = _signed_chain(5)
    for i in range(3):
        record(actor="agent:bot", action="decision.allow", reason=f"unsigned {i}")
    chain.sequence_pending()
    report = verify_database(jwks=public_jwks(), max_age=600)
    assert report.ok
    assert any(w.startswith(f"seq {signed + 1}..{signed + 3} (3 entries") for w in report.warnings)
    assert any("removed from its end nothing here could show it" in w for w in report.warnings)

    with superuser_sql() as cursor:  # the unsigned tail removed
        cursor.execute("DELETE FROM audit_auditentry WHERE seq > %s", [signed])
    report = verify_database(jwks=public_jwks(), max_age=600)
    assert report.ok  # what no verifier can see, and it says so:
    assert any("removed before the next one leave no trace" in line for line in report.proof())
    # Unless signing stopped meanwhile: the heartbeat keeps a live log's newest checkpoint
    # younger than the policy, so an older one fails.
    later = verify_database(jwks=public_jwks(), max_age=600, now=dt.datetime.now(dt.UTC) + LATER)
    assert [p.kind for p in later.problems] == ["stale"], later.lines()


@pytest.mark.postgres
def test_the_owner_empties_the_tables_and_inserts_a_rehashed_chain(
    tmp_path, witness_file, jwks_file
):
    head = _signed_chain()
    anchor = _anchor()
    rows = [row for _link, row in chain.iter_links()]
    owner = f"audit_owner_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {quote_identifier(owner)}")
        for table in ("audit_auditentry", "audit_auditcheckpoint"):
            cursor.execute(f"ALTER TABLE {table} OWNER TO {quote_identifier(owner)}")
        cursor.execute(f"SET ROLE {quote_identifier(owner)}")
        try:
            # Refused with the triggers on; the owner can switch its own triggers off.
            with pytest.raises(Exception, match="TRUNCATE is refused"), transaction.atomic():
                cursor.execute("TRUNCATE audit_auditentry")
            for table in ("audit_auditentry", "audit_auditcheckpoint"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute("TRUNCATE audit_auditentry, audit_auditcheckpoint")
            prev = "0" * 64
            # Every entry again, re-hashed, but for one the signed checkpoint covered.
            for seq, row in enumerate([r for r in rows if r[0] != head - 5], 1):
                values = chain.values_of(row[3:])
                digest = entry_hash(values, prev)
                cursor.execute(
                    "INSERT INTO audit_auditentry (id, created_at, actor, actor_id, "
                    "on_behalf_of, action, outcome, reason, resource, target_type, target_id, "
                    "workflow_run, token_jti, credential_id, request_id, source_ip, changes, "
                    "context, seq, prev_hash, hash) VALUES (%s, %s::timestamptz, %s, %s, "
                    "%s::jsonb, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, "
                    "%s::jsonb, %s, %s, %s)",
                    [
                        *values[:4],
                        json.dumps(values[4]),
                        *values[5:16],
                        json.dumps(values[16]),
                        json.dumps(values[17]),
                        seq,
                        prev,
                        digest,
                    ],
                )
                prev = digest
            for table in ("audit_auditentry", "audit_auditcheckpoint"):
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        finally:
            cursor.execute("RESET ROLE")
    assert AuditCheckpoint.objects.count() == 0

    status, out = _verify("--no-witness")
    assert status == 0, out  # a consistent chain of 9, and nothing in the database says otherwise
    for args in ([], ["--anchor", anchor]):
        status, out = _verify(*args)
        assert status == 1, out
        assert f"the chain ends at seq {head - 1}, but the" in out, out
    status, out = _verify_offline(tmp_path, jwks_file, "--witness", str(witness_file))
    assert status == 1 and f"the chain ends at seq {head - 1}" in out, out
