"""Both verifiers catch each kind of tampering and say which kind, and where."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from audit import chain
from audit.export import write_export
from audit.services import checkpoint_create, record
from audit.verification import verify_database
from audit.verifier import GENESIS, entry_hash, verify_export

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _chain(n: int = 10) -> None:
    for i in range(n):
        record(
            actor=f"agent:bot-{i % 3}",
            action="decision.allow",
            resource="customer_records",
            reason=f"entry {i}",
            changes={"i": i},
        )
    chain.sequence_pending()


@contextlib.contextmanager
def attacker():
    """Raw SQL as a superuser would use it: on PostgreSQL the triggers are switched off first."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")


def _change(cursor):
    cursor.execute("UPDATE audit_auditentry SET reason = 'nothing to see' WHERE seq = 5")


def _delete(cursor):
    cursor.execute("DELETE FROM audit_auditentry WHERE seq = 5")


def _insert(cursor):
    # The strongest forger: shifts the later entries and gives the new one a correct hash.
    cursor.execute("UPDATE audit_auditentry SET seq = seq + 1000 WHERE seq >= 5")
    cursor.execute("UPDATE audit_auditentry SET seq = seq - 999 WHERE seq >= 1000")
    cursor.execute("SELECT hash FROM audit_auditentry WHERE seq = 4")
    prev_hash = cursor.fetchone()[0]
    cursor.execute("SELECT MAX(id) + 1 FROM audit_auditentry")
    new_id = cursor.fetchone()[0]
    created = "2026-01-01T00:00:00.000000Z"
    values = (
        new_id,
        created,
        "user:mallory",
        "",
        [],
        "grant.create",
        "success",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        None,
        {},
        {},
    )
    digest = entry_hash(values, prev_hash)
    cursor.execute(
        "INSERT INTO audit_auditentry (id, created_at, actor, actor_id, on_behalf_of, action, "
        "outcome, reason, resource, target_type, target_id, workflow_run, token_jti, "
        "credential_id, request_id, source_ip, changes, context, seq, prev_hash, hash) VALUES "
        "(%s, %s, 'user:mallory', '', '[]', 'grant.create', 'success', '', '', '', '', '', '', "
        "'', '', NULL, '{}', '{}', 5, %s, %s)",
        [new_id, "2026-01-01 00:00:00+00:00", prev_hash, digest],
    )


def _reorder(cursor):
    cursor.execute("UPDATE audit_auditentry SET seq = -5 WHERE seq = 5")
    cursor.execute("UPDATE audit_auditentry SET seq = 5 WHERE seq = 6")
    cursor.execute("UPDATE audit_auditentry SET seq = 6 WHERE seq = -5")


def _swap_under_the_checkpoint(cursor):
    # The last two entries, the second of them signed: the checkpoint's entry moved to seq 9.
    cursor.execute("UPDATE audit_auditentry SET seq = -9 WHERE seq = 9")
    cursor.execute("UPDATE audit_auditentry SET seq = 9 WHERE seq = 10")
    cursor.execute("UPDATE audit_auditentry SET seq = 10 WHERE seq = -9")


def _truncate_tail(cursor):
    cursor.execute("DELETE FROM audit_auditentry WHERE seq >= 9")


# kind of tampering -> (how, the one problem's kind, where it says it was)
TAMPERING = {
    "changed": (_change, "changed", "entry seq 5"),
    "deleted": (_delete, "deleted", "seq 5"),
    "inserted": (_insert, "inserted", "entry seq 5"),
    "reordered": (_reorder, "reordered", "seq 5"),
    "reordered at the head": (_swap_under_the_checkpoint, "reordered", "seq 9"),
    "tail truncated": (_truncate_tail, "deleted", "after seq 8"),
}


def test_untouched_chain_verifies_in_both(signing_key, tmp_path):
    _chain()
    checkpoint_create(signer=signing_key.sign)
    report = verify_database(jwks=signing_key.jwks)
    assert report.ok, report.lines()
    assert (report.entries, report.checkpoints, report.warnings) == (10, 1, [])
    path = tmp_path / "export.jsonl"
    with path.open("w") as out:
        write_export(out)
    offline = verify_export(str(path), signing_key.jwks)
    assert offline.ok and offline.entries == 10 and offline.checkpoints == 1


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_tampering_is_caught_and_named_once(tampering, signing_key, tmp_path):
    _chain()
    checkpoint_create(signer=signing_key.sign)
    tamper, kind, where = TAMPERING[tampering]
    with attacker() as cursor:
        tamper(cursor)

    report = verify_database(jwks=signing_key.jwks)
    # One tampering, one problem: nothing it breaks as a consequence is reported again.
    assert [p.kind for p in report.problems] == [kind], report.lines()
    assert where in report.problems[0].message

    path = tmp_path / "export.jsonl"
    with path.open("w") as out:
        write_export(out)
    offline = verify_export(str(path), signing_key.jwks)
    assert [(p.kind, p.message) for p in offline.problems] == [
        (p.kind, p.message) for p in report.problems
    ]


def test_rewritten_chain_is_caught_by_the_signed_checkpoint(signing_key):
    _chain()
    checkpoint_create(signer=signing_key.sign)
    # A forger who changes seq 3 and re-hashes everything after it keeps the chain consistent...
    rows = list(chain.iter_links())
    with attacker() as cursor:
        cursor.execute("UPDATE audit_auditentry SET reason = 'forged' WHERE seq = 3")
        prev = rows[1][0].hash
        for link, _row in chain.iter_links(from_seq=3):
            digest = entry_hash(link.values, prev)
            cursor.execute(
                "UPDATE audit_auditentry SET prev_hash = %s, hash = %s WHERE seq = %s",
                [prev, digest, link.seq],
            )
            prev = digest
    report = verify_database(jwks=signing_key.jwks)
    # ...but not with the checkpoint the platform key signed before.
    assert [p.kind for p in report.problems] == ["checkpoint"]
    assert "seq 10" in report.problems[0].message


def test_forged_checkpoint_signature_is_rejected(signing_key):
    from tests.audit.conftest import CheckpointKey

    _chain(3)
    checkpoint_create(signer=CheckpointKey(kid=signing_key.kid).sign)  # same kid, other key
    report = verify_database(jwks=signing_key.jwks)
    assert [p.kind for p in report.problems] == ["checkpoint"]
    assert "signature does not verify" in report.problems[0].message


def test_deleted_tail_is_caught_by_a_later_checkpoint(signing_key):
    _chain(6)
    checkpoint_create(signer=signing_key.sign)
    with attacker() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq >= 5")
    report = verify_database(jwks=signing_key.jwks)
    assert [p.kind for p in report.problems] == ["deleted"]
    assert "seq 6" in report.problems[0].message


def test_verify_command_exit_status_and_message(signing_key, jwks_file):
    _chain(4)
    checkpoint_create(signer=signing_key.sign)
    out = __import__("io").StringIO()
    call_command("audit", "verify", "--jwks", str(jwks_file), stdout=out)
    assert "OK: 4 entries (seq 1..4), 1 checkpoint(s) verified" in out.getvalue()
    with attacker() as cursor:
        _change_seq2 = "UPDATE audit_auditentry SET actor = 'user:nobody' WHERE seq = 2"
        cursor.execute(_change_seq2)
    out = __import__("io").StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify", "--jwks", str(jwks_file), stdout=out)
    assert exit_info.value.code == 1
    assert "CHANGED: entry seq 2" in out.getvalue()


def test_offline_verifier_cli_needs_no_django(signing_key, jwks_file, tmp_path):
    _chain(5)
    checkpoint_create(signer=signing_key.sign)
    export = tmp_path / "export.jsonl"
    call_command("audit", "export", "-o", str(export))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    ran = subprocess.run(
        [sys.executable, "-m", "audit.verifier", str(export), "--jwks", str(jwks_file)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "OK: 5 entries (seq 1..5), 1 checkpoint(s) verified" in ran.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, audit.verifier; print('django' in sys.modules)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert probe.stdout.strip() == "False"

    # Tamper with the file itself: one changed byte in an entry's reason.
    lines = export.read_text().splitlines()
    record_3 = json.loads(lines[3])
    record_3["reason"] = "edited offline"
    lines[3] = json.dumps(record_3)
    export.write_text("\n".join(lines) + "\n")
    ran = subprocess.run(
        [sys.executable, "-m", "audit.verifier", str(export), "--jwks", str(jwks_file)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert ran.returncode == 1
    assert f"CHANGED: entry seq {record_3['seq']}" in ran.stdout


def test_range_export_verifies_with_a_warning(signing_key, tmp_path):
    _chain(10)
    checkpoint_create(signer=signing_key.sign)
    path = tmp_path / "range.jsonl"
    call_command("audit", "export", "--from-seq", "4", "--to-seq", "10", "-o", str(path))
    report = verify_export(str(path), signing_key.jwks)
    assert report.ok, report.lines()
    assert (report.first_seq, report.last_seq, report.checkpoints) == (4, 10, 1)
    assert any("starts at seq 4" in w for w in report.warnings)


def test_genesis_is_required_at_seq_1(signing_key):
    _chain(2)
    with attacker() as cursor:
        cursor.execute("UPDATE audit_auditentry SET prev_hash = %s WHERE seq = 1", ["1" * 64])
    report = verify_database(jwks=signing_key.jwks)
    assert report.problems[0].kind in ("anchor", "changed")
    assert GENESIS != "1" * 64


def test_time_window_export_is_a_contiguous_seq_range(signing_key, tmp_path):
    from audit.export import seq_range
    from audit.models import AuditEntry

    _chain(6)
    rows = list(AuditEntry.objects.order_by("seq"))
    lo, hi = seq_range(since=rows[2].created_at, until=rows[4].created_at)
    assert (lo, hi) == (3, 4)
    assert seq_range(since=rows[-1].created_at.replace(year=2999)) == (1, 0)
    path = tmp_path / "window.jsonl"
    call_command("audit", "export", "--since", rows[2].created_at.isoformat(), "-o", str(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["seq"] for r in lines if r["type"] == "entry"] == [3, 4, 5, 6]
    assert verify_export(str(path), signing_key.jwks).ok
