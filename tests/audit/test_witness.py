"""The witness: signed checkpoints also written outside the database, a failed write lost
nowhere and seen everywhere, and the HTTP witness as a real process over real HTTP."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.utils import timezone

from audit import chain, selectors
from audit.models import AuditCheckpoint, AuditWitnessMark
from audit.services import record
from audit.verification import verify_database
from governance.auditlog.keys import public_jwks
from governance.auditlog.tasks import checkpoint
from tests.audit.test_rewrite import _verify, superuser_sql

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
LATER = dt.timedelta(minutes=20)


def _entries(n: int = 3) -> None:
    for i in range(n):
        record(actor="agent:bot", action="decision.allow", changes={"i": i})
    chain.sequence_pending()


def test_a_failed_witness_write_loses_nothing_and_is_seen(tmp_path, settings, caplog):
    witness = tmp_path / "not-mounted" / "witness.jsonl"
    settings.AUDIT_WITNESS_URL = str(witness)
    _entries()
    with caplog.at_level(logging.ERROR, logger="audit.witness"):
        seq = checkpoint.apply().get()
    # The checkpoint is signed and kept; the failure is logged and remembered.
    assert AuditCheckpoint.objects.filter(seq=seq).exists()
    assert "not written, will retry" in caplog.text
    mark = AuditWitnessMark.objects.get()
    assert mark.failures == 1 and "not-mounted" in mark.last_error
    later = timezone.now() + LATER
    assert selectors.witness_lag(now=later) > settings.AUDIT_CHECKPOINT_MAX_AGE
    assert selectors.chain_health(now=later).witness_stale
    # Verification: not yet a failure while young, a stale witness once older than policy.
    status, out = _verify()
    assert status == 0 and "not yet written to the witness" in out, out
    from audit.references import gather
    from audit.report import Report

    report = Report()
    refs, held = gather(public_jwks(), report, witness=str(witness))
    stale = verify_database(
        jwks=public_jwks(), references=refs, witness=held, max_age=600, now=later, report=report
    )
    assert "witness" in [p.kind for p in stale.problems], stale.lines()
    assert "the witness is stale" in "\n".join(stale.lines())

    # The mount comes back: the next run (nothing new to sign) catches the witness up.
    witness.parent.mkdir()
    assert checkpoint.apply().get() is None
    lines = [json.loads(line) for line in witness.read_text().splitlines()]
    assert [(r["seq"], r["type"]) for r in lines] == [(seq, "checkpoint")]
    mark.refresh_from_db()
    assert (mark.failures, mark.last_error) == (0, "")
    assert selectors.witness_lag() == 0.0
    status, out = _verify()
    assert status == 0 and "not yet written" not in out, out


def test_only_new_checkpoints_go_to_a_new_witness_and_each_once(tmp_path, settings):
    _entries()
    checkpoint.apply()
    settings.AUDIT_WITNESS_URL = str(tmp_path / "witness.jsonl")
    _entries(2)
    newest = checkpoint.apply().get()
    _entries(1)
    last = checkpoint.apply().get()
    checkpoint.apply()  # nothing new: nothing written twice
    lines = (tmp_path / "witness.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [newest, last]


@pytest.fixture
def witness_server(tmp_path):
    """``python -m audit.witness_server`` as its own process (no Django), on a free port."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(PYTHONPATH=str(ROOT), AUDIT_WITNESS_TOKEN="witness-test-token")
    path = tmp_path / "served.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "audit.witness_server", "--file", str(path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        banner = proc.stdout.readline()
        port = int(banner.split(":")[1].split(",")[0])
        yield f"http://127.0.0.1:{port}/", path
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _post(url: str, body: bytes, token: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_http_witness_takes_checkpoints_and_catches_a_rewrite(witness_server, settings):
    url, path = witness_server
    settings.AUDIT_WITNESS_URL = url
    settings.AUDIT_WITNESS_TOKEN = "witness-test-token"
    _entries(4)
    head = checkpoint.apply().get()
    served = urllib.request.urlopen(url, timeout=10).read().decode()
    assert [json.loads(line)["seq"] for line in served.splitlines()] == [head]
    status, out = _verify()  # the witness read over HTTP
    assert status == 0 and "1 reference(s) checked" in out, out

    # It appends only what looks like a checkpoint, only from whoever holds the token.
    record_line = path.read_text().splitlines()[0].encode()
    assert _post(url, record_line, None) == 401
    assert _post(url, record_line, "wrong") == 401
    assert _post(url, b'{"type": "checkpoint", "seq": 1}', "witness-test-token") == 400
    assert _post(url, b"not json", "witness-test-token") == 400
    assert len(path.read_text().splitlines()) == 1

    with superuser_sql() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint")
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = %s", [head])
    status, out = _verify("--witness", url)
    assert status == 1 and f"but the witness (line 1) names seq {head}" in out, out
