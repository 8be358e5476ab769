"""The sequencer chains committed entries gaplessly with the documented canonical hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pytest
from django.core.management import call_command

from audit import chain, context
from audit.models import AuditEntry
from audit.services import record

pytestmark = pytest.mark.django_db


def _spec_hash(entry: AuditEntry, prev_hash: str) -> str:
    """The encoding as docs/audit.md states it, written out again independently."""
    created = entry.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = [
        "audit-entry/v1",
        entry.id,
        created,
        entry.actor,
        entry.actor_id,
        entry.on_behalf_of,
        entry.action,
        entry.outcome,
        entry.reason,
        entry.resource,
        entry.target_type,
        entry.target_id,
        entry.workflow_run,
        entry.token_jti,
        entry.credential_id,
        entry.request_id,
        entry.source_ip,
        entry.changes,
        entry.context,
    ]
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(raw + bytes.fromhex(prev_hash)).hexdigest()


def test_record_does_not_hash_and_sequencer_chains_in_order():
    entries = [
        record(
            actor="agent:invoice-reconciler",
            action="decision.allow",
            resource="customer_records",
            on_behalf_of=["agent:planner"],
            workflow_run="workflow:monthly-close-2025-11",
            changes={"ünïcode": "välue", "n": 1.5, "nested": {"b": 1, "a": [None, True]}},
        )
        for _ in range(7)
    ]
    assert all(e.seq is None and e.hash == "" for e in entries)

    assert chain.sequence_batch(batch_size=3) == 3
    assert chain.sequence_pending(batch_size=3) == 4
    assert chain.sequence_pending() == 0

    rows = list(AuditEntry.objects.order_by("seq"))
    assert [r.seq for r in rows] == list(range(1, 8))
    assert [r.id for r in rows] == sorted(e.id for e in entries)
    prev = "0" * 64
    for row in rows:
        assert row.prev_hash == prev
        assert row.hash == _spec_hash(row, prev)
        prev = row.hash
    assert chain.chain_head() == (7, prev)


def test_sequence_command_continues_the_chain():
    record(actor="system", action="one")
    call_command("audit", "sequence")
    token = context.bind(context.RequestContext(request_id="r-1", source_ip="10.0.0.1"))
    try:
        record(actor="system", action="two")
    finally:
        context.reset(token)
    out = io.StringIO()
    call_command("audit", "sequence", stdout=out)
    assert "chained 1 entries; head is seq 2" in out.getvalue()
    first, second = AuditEntry.objects.order_by("seq")
    assert second.prev_hash == first.hash
    assert second.hash == _spec_hash(second, first.hash)


def test_sequence_task_drains(settings):
    from audit.tasks import sequence

    for _ in range(3):
        record(actor="system", action="task.drain")
    assert sequence.apply().get() == 3
    assert not AuditEntry.objects.unsequenced().exists()
