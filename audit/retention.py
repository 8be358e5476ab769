"""Retention: archive a chained range (export, verify, sign, then remove) — the one removal path.

Order matters. The range is exported to a file and its digest taken; the range is walked and
must verify; then, in one transaction, a signed ``archive`` checkpoint of the range's last entry
(seq, hash, range, export digest) is written and the rows are deleted. On PostgreSQL the
append-only trigger lets a chained row go only when such a checkpoint covers it (migration
0004); on SQLite the ORM refuses deletes and only this module's raw DELETE removes rows. The
remaining chain then starts from the archive checkpoint: its first entry's ``prev_hash`` is the
checkpoint's hash, and both verifiers accept the missing prefix only behind a valid signature.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.db import connection, transaction

from . import chain, principals
from .export import write_export
from .models import AuditCheckpoint
from .services import Signer, _checkpoint_sign, record
from .verifier import Checkpoint, walk


class ArchiveError(Exception):
    """The range cannot be archived (bad bounds, or it does not verify)."""


def _first_seq() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(seq) FROM {chain.ENTRY_TABLE} WHERE seq IS NOT NULL"  # noqa: S608
        )
        value = cursor.fetchone()[0]
    return int(value) if value is not None else None


def archive_range(
    *, through_seq: int, signer: Signer, path: str | Path, actor: str = principals.SYSTEM
) -> AuditCheckpoint:
    """Export entries up to ``through_seq`` to ``path``, sign an archive checkpoint, remove them."""
    first = _first_seq()
    head, _ = chain.chain_head()
    if first is None or through_seq < first:
        raise ArchiveError("nothing to archive: no chained entries at or before that seq")
    if through_seq > head:
        raise ArchiveError(f"seq {through_seq} is not chained yet (the head is seq {head})")

    target = Path(path)
    with target.open("w", encoding="utf-8") as out:
        write_export(out, from_seq=first, to_seq=through_seq)
    digest = hashlib.sha256()
    with target.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)

    # Never remove a range that does not verify: it would destroy the evidence.
    previous = (
        AuditCheckpoint.objects.filter(kind=AuditCheckpoint.Kind.ARCHIVE, seq=first - 1)
        .order_by("-id")
        .first()
    )
    items: list = [Checkpoint(previous.seq, previous.hash, "archive")] if previous else []
    report = walk(
        _chain_items(items, first, through_seq),
        range_start=first if previous is None and first > 1 else None,
    )
    if not report.ok:
        raise ArchiveError("the range does not verify: " + "; ".join(report.lines()[:3]))

    with transaction.atomic():
        checkpoint = _checkpoint_sign(
            signer=signer,
            seq=report.last_seq,
            head_hash=report.last_hash,
            kind=AuditCheckpoint.Kind.ARCHIVE,
            archived_from=first,
            archive_sha256=digest.hexdigest(),
            archive_name=target.name,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {chain.ENTRY_TABLE} WHERE seq IS NOT NULL AND seq <= %s",  # noqa: S608
                [through_seq],
            )
            removed = cursor.rowcount
        record(
            actor=actor,
            action="audit.archive",
            resource="audit:log",
            target_type="audit_checkpoint",
            target_id=checkpoint.pk,
            context_data={
                "archived_from_seq": first,
                "archived_through_seq": through_seq,
                "removed": removed,
                "archive_sha256": checkpoint.archive_sha256,
                "archive_name": checkpoint.archive_name,
            },
        )
    return checkpoint


def _chain_items(prefix: list, first: int, through_seq: int):
    yield from prefix
    with chain.read_transaction():
        for link, _row in chain.iter_links(from_seq=first, to_seq=through_seq):
            yield link
