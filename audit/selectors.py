"""Reads of the audit log: visibility by principal, filters, timelines, summaries, exports.

``audit`` knows nothing of teams: callers pass the principals a user may see (``None`` for
everything). Summaries are one GROUP BY in the database whatever the number of entries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from .models import AuditEntry
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
