"""Real concurrent processes on PostgreSQL: writers insert while two sequencers race."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from audit.models import AuditEntry
from audit.verification import verify_database

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import time
from audit.services import record
for i in range({n}):
    record(actor="agent:writer-{w}", action="decision.allow", resource="ledger", changes={{"i": i}})
    if i % 50 == 0:
        time.sleep(0.01)
"""


def _env() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = dict(os.environ)
    env.update({"DATABASE_URL": url, "PYTHONPATH": str(ROOT), "DB_CONN_MAX_AGE": "0"})
    return env


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sequencers_and_two_writers_never_fork_or_skip():
    env, per_writer = _env(), 400
    manage = [sys.executable, str(ROOT / "manage.py")]
    sequencers = [
        subprocess.Popen(
            [*manage, "audit", "sequence", "--for", "6", "--batch-size", "7"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    writers = [
        subprocess.Popen(
            [*manage, "shell", "-c", WRITER.format(n=per_writer, w=w)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(2)
    ]
    outputs = []
    for proc in writers + sequencers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        outputs.append(out)
    chained = [int(re.search(r"chained (\d+) entries", out).group(1)) for out in outputs[2:]]

    total = 2 * per_writer
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, total + 1))  # every entry chained once, no gap, no duplicate
    report = verify_database(jwks=None)
    assert report.ok, report.lines()
    assert report.entries == total
    # Both sequencers did part of the work: they really raced for the same head.
    assert sum(chained) == total and min(chained) > 0, chained


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_first_pass_agrees_with_the_sequential_walk(signing_key):
    from audit import chain
    from audit.services import checkpoint_create, record
    from audit.verification import verify_database

    for i in range(60):
        record(actor="agent:bot", action="decision.allow", resource="ledger", changes={"i": i})
    chain.sequence_pending()
    checkpoint_create(signer=signing_key.sign)
    fast = verify_database(jwks=signing_key.jwks, workers=2, min_parallel=10)
    assert fast.ok and (fast.entries, fast.checkpoints, fast.last_seq) == (60, 1, 60)
    assert fast.workers == 2
    # A break found by the parallel pass is re-walked sequentially, so it is still named.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = 31")
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
    broken = verify_database(jwks=signing_key.jwks, workers=2, min_parallel=10)
    assert broken.workers == 1  # the sequential walk named it
    assert [p.kind for p in broken.problems] == ["deleted"]
    assert "seq 31" in broken.problems[0].message


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_first_pass_checks_the_references(signing_key):
    from audit import chain
    from audit.references import parse_anchor
    from audit.services import checkpoint_create, record

    for i in range(60):
        record(actor="agent:bot", action="decision.allow", resource="ledger", changes={"i": i})
    chain.sequence_pending()
    checkpoint_create(signer=signing_key.sign)
    links = {link.seq: link.hash for link, _row in chain.iter_links()}
    good = [parse_anchor(f"20:{links[20]}"), parse_anchor(f"45:{links[45]}")]
    fast = verify_database(jwks=signing_key.jwks, workers=2, min_parallel=10, references=good)
    assert fast.ok and fast.workers == 2, fast.lines()
    assert (fast.references, fast.anchored_seq) == (2, 45)
    # A reference the chain contradicts, or past its end, is named by the sequential walk.
    for anchor, message in (
        (f"45:{links[44]}", "rewritten up to seq 45"),
        (f"61:{'a' * 64}", "ends at seq 60"),
    ):
        bad = verify_database(
            jwks=signing_key.jwks, workers=2, min_parallel=10, references=[parse_anchor(anchor)]
        )
        assert bad.workers == 1 and len(bad.problems) == 1, bad.lines()
        assert message in bad.problems[0].message
