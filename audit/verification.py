"""``manage.py audit verify``: the offline verifier's walk, fed straight from the database."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from typing import Any

from django.db import connection

from . import chain
from .models import AuditCheckpoint
from .verifier import (
    Checkpoint,
    Link,
    Report,
    SignatureError,
    checkpoint_claims,
    checkpoint_from_claims,
    walk,
)


def checkpoints_in_order(
    report: Report, jwks: Mapping[str, Any] | None, *, queryset=None
) -> Iterator[Checkpoint]:
    """Checkpoints by ``seq``; with a JWKS only what the signature states is believed."""
    rows = (queryset if queryset is not None else AuditCheckpoint.objects.all()).order_by(
        "seq", "id"
    )
    for row in rows.iterator(chunk_size=2000):
        if jwks is None:
            yield Checkpoint(seq=row.seq, hash=row.hash, kind=row.kind)
            continue
        try:
            claims = checkpoint_claims(row.jws, jwks)
        except SignatureError as exc:
            report.add("checkpoint", row.seq, f"checkpoint {row.pk} at seq {row.seq}: {exc}")
            continue
        signed = checkpoint_from_claims(claims)
        if (signed.seq, signed.hash, signed.kind) != (row.seq, row.hash, row.kind):
            report.add(
                "checkpoint",
                row.seq,
                f"checkpoint {row.pk}: its columns differ from what its signature states",
            )
        yield signed


def find_seq_by_hash(wanted: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq FROM {chain.ENTRY_TABLE} WHERE hash = %s AND seq IS NOT NULL",  # noqa: S608
            [wanted],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _order(item: Link | Checkpoint) -> tuple[int, int]:
    return (item.seq, 0 if isinstance(item, Link) else 1)


def verify_database(*, jwks: Mapping[str, Any] | None) -> Report:
    """Walk the whole chain and every checkpoint; constant memory."""
    report = Report()
    with chain.read_transaction():
        links = (link for link, _row in chain.iter_links())
        items = heapq.merge(links, checkpoints_in_order(report, jwks), key=_order)
        walk(items, find_seq_by_hash=find_seq_by_hash, report=report)
    if jwks is None:
        report.warnings.append("checkpoint signatures were not checked (no JWKS)")
    waiting = chain.unsequenced_count()
    if waiting:
        report.warnings.append(f"{waiting} entries are not chained yet (the sequencer is behind)")
    return report
