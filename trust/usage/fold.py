"""The aggregator: folds the sequenced audit log into usage counters, past a watermark.

A consumer with an offset, like a Kafka consumer group of one: each batch takes the entries
with ``seq`` in ``(watermark, watermark + batch]`` and, in two set-based statements (``sql``),
adds them to the hourly counters and to the all-time totals, then moves the watermark, all in
one transaction. A worker that dies mid-batch leaves nothing behind; the next run re-reads from
the watermark, so nothing is counted twice or lost. Only one folder works at a time: each batch
holds the watermark's row lock (on SQLite the ``IMMEDIATE`` transaction serialises writers).

What counts, per agent (``agent:<slug>``, resolved to its id; unknown principals are skipped):

- ``decision``: allowed / denied / pending (approval required), under the resource's slug and
  the requested action (the scope ``resource:action``);
- ``token.issue``, ``token.exchange``, ``token.delegate`` that succeeded: issued;
- ``token.refuse``: refused (the client authenticated, the request was not served);
- ``client.authenticate`` failures naming ``client:<slug>``: failed authentication.

``seq`` is the sequencer's visibility order: every entry up to the chain head is committed and
visible, so a range of ``seq`` is complete once read (an entry that commits late gets a later
``seq`` and is folded later, into the hour it was written in).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max

from audit.models import AuditEntry

from . import sql
from .models import UsageBaseline, UsageHour, UsageTotal, UsageWatermark

USAGE = "usage"
BATCH_SIZE = {"postgresql": 20_000}
DEFAULT_BATCH_SIZE = 5_000  # SQLite: each batch holds the database-wide write lock


@dataclass(frozen=True)
class FoldResult:
    """What a fold did: entries consumed (every ``seq``, usage or not) and where it stopped."""

    entries: int = 0
    batches: int = 0
    position: int = 0


def batch_size_default() -> int:
    return BATCH_SIZE.get(connection.vendor, DEFAULT_BATCH_SIZE)


def watermark(name: str = USAGE) -> UsageWatermark:
    """The consumer's offset row, locked for this transaction (created on first use)."""
    UsageWatermark.objects.get_or_create(name=name)
    return UsageWatermark.objects.select_for_update().get(name=name)


def _head() -> int:
    return AuditEntry.objects.aggregate(head=Max("seq"))["head"] or 0


def usage_fold_batch(*, batch_size: int | None = None) -> int:
    """Fold the next batch of sequenced entries; returns how many ``seq`` it consumed.

    Waits for the watermark's lock if another folder holds it, then continues from where that
    one stopped.
    """
    size = batch_size or batch_size_default()
    with transaction.atomic():
        mark = watermark()
        head = _head()
        upto = min(head, mark.position + size)
        if upto <= mark.position:
            return 0
        sql.fold_hours(mark.position, upto)
        sql.fold_totals(mark.position, upto)
        consumed = upto - mark.position
        mark.position = upto
        mark.through = (
            AuditEntry.objects.filter(seq=upto).values_list("created_at", flat=True).first()
            or mark.through
        )
        mark.save(update_fields=["position", "through", "updated_at"])
    return consumed


def usage_fold(*, batch_size: int | None = None, max_seconds: float | None = None) -> FoldResult:
    """Fold until caught up with the chain head (or for ``max_seconds``)."""
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    entries = batches = 0
    while deadline is None or time.monotonic() < deadline:
        consumed = usage_fold_batch(batch_size=batch_size)
        if not consumed:
            break
        entries, batches = entries + consumed, batches + 1
    position = UsageWatermark.objects.filter(name=USAGE).values_list("position", flat=True)
    return FoldResult(entries=entries, batches=batches, position=position.first() or 0)


def usage_rebuild(*, batch_size: int | None = None) -> FoldResult:
    """Forget every usage fact and fold the whole audit log again, in one transaction.

    Readers keep seeing the old facts until it commits. On SQLite the database is write-locked
    for the duration: run it when the server is quiet.
    """
    from .baselines import BASELINES, baselines_update
    from .prune import PRUNE

    with transaction.atomic():
        mark = watermark()
        watermark(BASELINES)
        for model in (UsageHour, UsageTotal, UsageBaseline):
            model.objects.all().delete()
        # The refolded hours start again from the oldest entry the log still has; the prune
        # starts again from there too.
        UsageWatermark.objects.filter(pk__in=[USAGE, BASELINES, PRUNE]).update(
            position=0, through=None
        )
        del mark
        result = usage_fold(batch_size=batch_size)
        baselines_update()
    return result
