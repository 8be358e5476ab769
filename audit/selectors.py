"""Reads of the audit log: visibility by principal, filters, timelines, summaries, exports, and
the chain's health (checkpoint age, sequencer lag, witness lag) for /readyz and metrics.

``audit`` knows nothing of teams: callers pass the principals a user may see (``None`` for
everything). Summaries are one GROUP BY in the database whatever the number of entries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from . import witness
from .models import AuditCheckpoint, AuditEntry, AuditWitnessMark
from .verifier import FIELDS as ENTRY_FIELDS

# Every stored column: the canonical fields of an entry plus its place in the chain.
EXPORT_COLUMNS = ("id", "seq", *ENTRY_FIELDS[1:], "hash")


def entries_visible(principals: Sequence[str] | None) -> QuerySet[AuditEntry]:
    """Entries whose actor or resource is one of ``principals`` (``None``: every entry)."""
    qs = AuditEntry.objects.all()
    if principals is None:
        return qs
    if not principals:
        return qs.none()
    return qs.filter(Q(actor__in=principals) | Q(resource__in=principals))


def agent_timeline(qs: QuerySet[AuditEntry], *, principal: str) -> QuerySet[AuditEntry]:
    """What an agent did and what was done to it, oldest first."""
    return qs.filter(Q(actor=principal) | Q(resource=principal)).order_by("created_at", "id")


def _verb(action: str) -> str:
    head = action.split(".", 1)[0]
    if head in ("decision", "token", "access", "resource"):
        return "accessed"
    return f"did {action} on"


def summaries(qs: QuerySet[AuditEntry], *, limit: int = 20) -> list[dict[str, Any]]:
    """Counts per actor, resource, action, workflow run and day, largest first, in words."""
    rows = (
        qs.order_by()
        .annotate(day=TruncDate("created_at"))
        .values("actor", "resource", "action", "workflow_run", "day")
        .annotate(count=Count("id"))
        .order_by("-count", "actor", "resource", "action", "day")[:limit]
    )
    out = []
    for row in rows:  # at most ``limit`` aggregated rows, never the entries themselves
        out.append({**row, "day": row["day"].isoformat(), "text": summary_text(row)})
    return out


def summary_text(row: dict[str, Any]) -> str:
    """``agent:x accessed customer_records 847 times on Saturday 2025-11-29, triggered by …``."""
    day: dt.date = row["day"]
    times = "once" if row["count"] == 1 else f"{row['count']} times"
    what = row["resource"] or "(no resource)"
    verb = _verb(row["action"])
    text = f"{row['actor']} {verb} {what} {times} on {day:%A} {day.isoformat()}"
    if verb == "accessed":
        text += f" ({row['action']})"
    if row["workflow_run"]:
        run = row["workflow_run"]
        text += f", triggered by {run if ':' in run else 'workflow run ' + run}"
    return text


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "" if value is None else value


def _rows(qs: QuerySet[AuditEntry]) -> Iterator[tuple]:
    yield from qs.values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000)


def export_csv(qs: QuerySet[AuditEntry]) -> Iterator[str]:
    """CSV lines, streamed; values that start like a formula are quoted against CSV injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(EXPORT_COLUMNS)
    for row in _rows(qs):
        yield line(_defuse(_cell(v)) for v in row)


def _defuse(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_jsonl(qs: QuerySet[AuditEntry]) -> Iterator[str]:
    """JSON Lines, streamed, one entry per line."""
    for row in _rows(qs):
        record = dict(zip(EXPORT_COLUMNS, row, strict=True))
        record["created_at"] = record["created_at"].isoformat()
        yield json.dumps(record, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Health: each one indexed query, cheap enough for every /readyz probe.


def checkpoint_age(*, now: dt.datetime | None = None) -> float | None:
    """Seconds since the newest checkpoint was signed.

    If none ever was, the seconds since the oldest chained entry was written (what has waited
    for one); ``None`` for a log with nothing chained. The checkpoint task signs at least every
    ``AUDIT_CHECKPOINT_MAX_AGE / 2`` seconds, so beyond ``AUDIT_CHECKPOINT_MAX_AGE`` signing
    has stopped (task disabled, worker or beat down, signing key unusable).
    """
    now = now or timezone.now()
    newest = (
        AuditCheckpoint.objects.order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    if newest is None:
        newest = (
            AuditEntry.objects.filter(seq__isnull=False)
            .order_by("seq")
            .values_list("created_at", flat=True)
            .first()
        )
    return None if newest is None else max(0.0, (now - newest).total_seconds())


def sequencer_lag(*, now: dt.datetime | None = None) -> float:
    """Seconds the oldest entry not chained yet has waited for the sequencer (0.0: none waits)."""
    now = now or timezone.now()
    oldest = (
        AuditEntry.objects.filter(seq__isnull=True)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


def witness_lag(*, now: dt.datetime | None = None) -> float | None:
    """Seconds the oldest checkpoint not yet written to the witness has waited (0.0: it has them
    all); ``None`` when no witness is configured."""
    where = witness.location()
    if not where:
        return None
    now = now or timezone.now()
    mark = AuditWitnessMark.objects.filter(witness=witness.display(where)).first()
    waiting = AuditCheckpoint.objects.all()
    if mark is not None:
        oldest = waiting.filter(id__gt=mark.checkpoint_id).order_by("id")
    else:  # never written to: the publisher starts with the newest checkpoint
        oldest = waiting.order_by("-id")
    created = oldest.values_list("created_at", flat=True).first()
    return 0.0 if created is None else max(0.0, (now - created).total_seconds())


@dataclass(frozen=True)
class ChainHealth:
    """The three ages and the policy limits they are held to (seconds)."""

    checkpoint_age: float | None
    sequencer_lag: float
    witness_lag: float | None
    checkpoint_max_age: float
    sequencer_max_lag: float

    @property
    def checkpoint_stale(self) -> bool:
        return self.checkpoint_age is not None and self.checkpoint_age > self.checkpoint_max_age

    @property
    def sequencer_behind(self) -> bool:
        return self.sequencer_lag > self.sequencer_max_lag

    @property
    def witness_stale(self) -> bool:
        return self.witness_lag is not None and self.witness_lag > self.checkpoint_max_age

    @property
    def ok(self) -> bool:
        return not (self.checkpoint_stale or self.sequencer_behind or self.witness_stale)


def chain_health(*, now: dt.datetime | None = None) -> ChainHealth:
    """Checkpoint age, sequencer lag and witness lag against their policy (for /readyz)."""
    now = now or timezone.now()
    return ChainHealth(
        checkpoint_age=checkpoint_age(now=now),
        sequencer_lag=sequencer_lag(now=now),
        witness_lag=witness_lag(now=now),
        checkpoint_max_age=settings.AUDIT_CHECKPOINT_MAX_AGE,
        sequencer_max_lag=settings.AUDIT_SEQUENCER_MAX_LAG,
    )


def sequencer_backlog() -> int:
    """Entries written and waiting for their seq (for /metrics; the partial index holds only
    these rows)."""
    return AuditEntry.objects.filter(seq__isnull=True).count()
