"""Retention: prune the trust history and the hourly usage counters past the policy's windows.

Both grow without bound otherwise (a history row per changed outcome per agent, an hourly row
per agent × resource × action × credential). ``trust_prune`` is the one service: the beat task
``trust.prune`` and ``manage.py trust prune`` call it. It deletes in bounded batches, each its
own transaction, and writes one audit entry per run with the counts (a dry run writes nothing).

History (``TrustComputation``): a row older than ``history_keep_days`` goes, a row that changed
the level (``level_changed``) only after ``level_change_keep_days``, and an agent's latest row
never: the current breakdown and the chart's last point are always there. A batch reads the
next ``batch_size`` ids (keyset, so it never rescans what it passed) and deletes, in one
statement, the rows among them that are old enough and have a newer row of the same agent. A
recomputation running alongside only adds newer rows, so it cannot make a latest row go.
Killed mid-batch, the batch's statement rolls back; the next run deletes by the same rules,
so re-running is harmless. Usage hours: ``trust.usage.prune``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from audit.principals import SYSTEM
from audit.services import record

from .models import TrustComputation
from .policy import current_policy
from .usage.baselines import hour_start
from .usage.prune import prune_horizon, usage_prune

HISTORY_BATCH = 5000  # history ids read per batch (the delete touches at most these)


@dataclass(frozen=True)
class PruneResult:
    """What a prune deleted (or, dry, would delete), and the cut-offs it used."""

    history_rows: int
    usage_rows: int
    complete: bool  # False: stopped at its time budget; the next run goes on
    dry_run: bool
    policy_version: int
    history_before: dt.datetime
    level_changes_before: dt.datetime
    usage_before: dt.datetime | None  # None: the baselines have folded nothing yet

    def as_json(self) -> dict:
        return {
            k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in asdict(self).items()
        }


def _history_prunable(
    after: int, upto: int | None, before: dt.datetime, changes_before: dt.datetime
) -> QuerySet[TrustComputation]:
    """Rows with ``after < id <= upto`` old enough to go, each with a newer row of its agent."""
    newer = TrustComputation.objects.filter(agent_id=OuterRef("agent_id"), pk__gt=OuterRef("pk"))
    rows = TrustComputation.objects.filter(pk__gt=after, computed_at__lt=before)
    if upto is not None:
        rows = rows.filter(pk__lte=upto)
    return rows.filter(Q(level_changed=False) | Q(computed_at__lt=changes_before), Exists(newer))


def history_prune(
    *,
    before: dt.datetime,
    changes_before: dt.datetime,
    dry_run: bool = False,
    deadline: float | None = None,
    batch_size: int = HISTORY_BATCH,
) -> tuple[int, bool]:
    """Delete (or count) the history rows the windows no longer keep; two queries a batch.

    Ids grow with ``computed_at`` (a row is inserted as it is computed; concurrent runs differ
    by minutes), so the walk stops at the first batch that reaches a row computed after
    ``before`` rather than reading the young rest of the table. Returns the rows and whether the
    walk got there.
    """
    rows, after = 0, 0
    while deadline is None or time.monotonic() < deadline:
        # The batch's last id (and its time), or None when fewer than batch_size rows remain.
        edge = list(
            TrustComputation.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "computed_at")[batch_size - 1 : batch_size]
        )
        upto, reached = edge[0] if edge else (None, None)
        batch = _history_prunable(after, upto, before, changes_before)
        with transaction.atomic():
            rows += batch.count() if dry_run else batch.delete()[0]
        if upto is None or reached >= before:
            return rows, True
        after = upto
    return rows, False


def trust_prune(
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    max_seconds: float | None = None,
    reason: str = "",
    batch_size: int = HISTORY_BATCH,
) -> PruneResult:
    """Prune the history and the hourly usage past the policy in force; audit one summary.

    ``max_seconds``: start no batch after it (the rest waits for the next run, which says so
    in its entry). A dry run counts what would go and writes nothing, not even the audit entry.
    """
    now = now or timezone.now()
    policy = current_policy()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    before = now - dt.timedelta(days=policy.history_keep_days)
    changes_before = now - dt.timedelta(days=policy.level_change_keep_days)
    history, history_done = history_prune(
        before=before,
        changes_before=changes_before,
        dry_run=dry_run,
        deadline=deadline,
        batch_size=batch_size,
    )
    horizon = prune_horizon(now=now, keep_days=policy.usage_keep_days)
    usage, usage_done = usage_prune(horizon=horizon, dry_run=dry_run, deadline=deadline)
    result = PruneResult(
        history_rows=history,
        usage_rows=usage,
        complete=history_done and usage_done,
        dry_run=dry_run,
        policy_version=policy.version,
        history_before=before,
        level_changes_before=changes_before,
        usage_before=None if horizon is None else hour_start(horizon + 1),
    )
    if not dry_run:
        summary = result.as_json()
        record(
            actor=SYSTEM,
            action="trust.prune",
            target_type="trust_history",
            reason=reason or "retention",
            changes={"history_rows": history, "usage_rows": usage},
            context_data={k: v for k, v in summary.items() if k not in {"dry_run"}},
        )
    return result
