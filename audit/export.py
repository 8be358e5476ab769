"""``manage.py audit export``: the chain and its checkpoints as JSON Lines, streamed."""

from __future__ import annotations

import datetime as dt
import heapq
import json
from collections.abc import Iterator
from typing import Any, TextIO

from django.db.models import Max, Min

from . import chain
from .models import AuditCheckpoint, AuditEntry
from .verifier import EXPORT_FORMAT, FIELDS, Link, format_time


def seq_range(
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> tuple[int | None, int | None]:
    """A time window becomes the contiguous seq range that covers it (a chain has no holes)."""
    if since is not None or until is not None:
        qs = AuditEntry.objects.sequenced()
        if since is not None:
            qs = qs.filter(created_at__gte=since)
        if until is not None:
            qs = qs.filter(created_at__lt=until)
        bounds = qs.aggregate(lo=Min("seq"), hi=Max("seq"))
        if bounds["lo"] is None:
            return 1, 0  # nothing in the window
        from_seq = max(from_seq or 0, bounds["lo"]) or None
        to_seq = min(to_seq, bounds["hi"]) if to_seq is not None else bounds["hi"]
    return from_seq, to_seq


def _checkpoint_records(from_seq: int | None, to_seq: int | None) -> Iterator[dict[str, Any]]:
    qs = AuditCheckpoint.objects.order_by("seq", "id")
    anchor = None
    if from_seq is not None and from_seq > 1:
        # The archive checkpoint the range starts from, if it starts right after one.
        anchor = qs.filter(kind=AuditCheckpoint.Kind.ARCHIVE, seq=from_seq - 1).last()
        qs = qs.filter(seq__gte=from_seq)
    if to_seq is not None:
        qs = qs.filter(seq__lte=to_seq)
    rows = [anchor] if anchor else []
    for cp in [*rows, *qs.iterator(chunk_size=2000)]:
        yield checkpoint_record(cp)


def checkpoint_record(cp: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as a JSON Lines record (in exports and in the witness): only ``jws`` counts
    to a verifier, the rest is there for people."""
    return {
        "type": "checkpoint",
        "seq": cp.seq,
        "hash": cp.hash,
        "kind": cp.kind,
        "created_at": format_time(cp.created_at),
        "key_id": cp.key_id,
        "archived_from_seq": cp.archived_from_seq,
        "archive_sha256": cp.archive_sha256,
        "jws": cp.jws,
    }


def _entry_records(from_seq: int | None, to_seq: int | None) -> Iterator[dict[str, Any]]:
    for link, _row in chain.iter_links(from_seq=from_seq, to_seq=to_seq):
        yield entry_record(link)


def entry_record(link: Link) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "entry", "seq": link.seq}
    record.update(zip(FIELDS, link.values, strict=True))
    record["prev_hash"] = link.prev_hash
    record["hash"] = link.hash
    return record


def write_export(
    out: TextIO, *, from_seq: int | None = None, to_seq: int | None = None
) -> dict[str, int]:
    """Write header, entries and checkpoints (each after the entry it signs); constant memory."""
    header = {
        "type": "header",
        "format": EXPORT_FORMAT,
        "exported_at": format_time(dt.datetime.now(dt.UTC)),
        "from_seq": from_seq,
        "to_seq": to_seq,
    }
    out.write(json.dumps(header) + "\n")
    counts = {"entries": 0, "checkpoints": 0}
    with chain.read_transaction():
        merged = heapq.merge(
            _entry_records(from_seq, to_seq),
            _checkpoint_records(from_seq, to_seq),
            key=lambda r: (r["seq"], 0 if r["type"] == "entry" else 1),
        )
        for record in merged:
            counts["entries" if record["type"] == "entry" else "checkpoints"] += 1
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    out.write(json.dumps({"type": "footer", **counts}) + "\n")
    return counts
