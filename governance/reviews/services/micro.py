"""The sweeps that open micro-reviews from facts rather than events (run by beat, idempotent).

* its team has no active member left;
* its level dropped to UNTRUSTED: read from the audit log, where every level change is written
  with its before and after (``trust.pin``, ``trust.level_change``), past the sweep's watermark
  (``ReviewPolicy.micro_swept_at``, moved in the same transaction); the trust engine writes
  levels in bulk ``UPDATE``s, which send no signal, so the sweep sees a drop within one beat
  interval. An agent that *starts* untrusted, or stays there, is no drop;
* dormant: active, no use known for ``dormant_days`` and registered before that.

A critical grant opens one at once (``governance.reviews.signals``).
``review_micro_open`` keeps at most one pending micro-review per agent and trigger.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from agents.models import Agent, Team, TrustLevel
from audit.models import AuditEntry
from trust.usage.models import UsageTotal

from ..models import Campaign, ReviewItem, ReviewPolicy
from .campaigns import review_micro_open

PER_RUN = 500


def _open_for(agents, trigger: str, now: dt.datetime) -> int:
    opened = 0
    pending = ReviewItem.objects.filter(
        agent=OuterRef("pk"),
        state=ReviewItem.State.PENDING,
        campaign__kind=Campaign.Kind.MICRO,
        campaign__trigger=trigger,
    )
    # Bounded per run (the task's time limit); the next run picks up where this one stopped.
    for agent in agents.exclude(Exists(pending)).order_by("pk")[:PER_RUN]:
        if review_micro_open(agent=agent, trigger=trigger, now=now) is not None:
            opened += 1
    return opened


def reviews_micro_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Open the micro-reviews the facts call for; returns how many per trigger."""
    now = now or timezone.now()
    policy = ReviewPolicy.current()
    live = Agent.objects.exclude(status=Agent.Status.DECOMMISSIONED)
    active_member = Team.objects.filter(pk=OuterRef("owner_team_id"), group__user__is_active=True)
    empty_team = live.exclude(Exists(active_member))
    untrusted = live.filter(
        pk__in=_not_reviewed_since(_dropped_to_untrusted(policy.micro_swept_at, now)),
        trust_level=TrustLevel.UNTRUSTED,
    )
    cutoff = now - dt.timedelta(days=policy.dormant_days)
    recent_use = UsageTotal.objects.filter(agent_id=OuterRef("pk"), last_used_at__gte=cutoff)
    dormant = live.filter(status=Agent.Status.ACTIVE, created_at__lt=cutoff).exclude(
        Exists(recent_use)
    )
    opened = {
        "team_inactive": _open_for(empty_team, "team_inactive", now),
        "untrusted": _open_for(untrusted, "untrusted", now),
        "dormant": _open_for(dormant, "dormant", now),
    }
    ReviewPolicy.objects.filter(pk=policy.pk).update(micro_swept_at=now)
    return opened


# trust.level_change: the engine's; trust.pin: a person's (trust.set: before pins existed).
TRUST_CHANGES = ("trust.set", "trust.pin", "trust.level_change")
# Entries are written before they commit: read a little behind the watermark (the micro-review
# reviewed after a drop is not opened again for it: ``_not_reviewed_since``).
SLACK = dt.timedelta(minutes=10)


def _dropped_to_untrusted(since: dt.datetime | None, now: dt.datetime) -> dict[int, dt.datetime]:
    """Agents whose level went from above UNTRUSTED to UNTRUSTED after ``since``, and when."""
    entries = AuditEntry.objects.filter(
        action__in=TRUST_CHANGES, target_type="agent", created_at__lte=now
    )
    if since is not None:
        entries = entries.filter(created_at__gt=since - SLACK)
    dropped: dict[int, dt.datetime] = {}
    rows = entries.values_list("target_id", "changes", "created_at").iterator()
    for target_id, changes, at in rows:
        change = (changes or {}).get("trust_level")
        if (
            isinstance(change, list)
            and len(change) == 2
            and change[0] != TrustLevel.UNTRUSTED
            and change[1] == TrustLevel.UNTRUSTED
            and str(target_id).isdigit()
        ):
            agent_id = int(target_id)
            dropped[agent_id] = max(at, dropped.get(agent_id, at))
    return dropped


def _not_reviewed_since(dropped: dict[int, dt.datetime]) -> list[int]:
    """The agents of ``dropped`` with no untrusted micro-review opened since their drop."""
    reviewed = dict(
        ReviewItem.objects.filter(
            agent_id__in=list(dropped),
            campaign__kind=Campaign.Kind.MICRO,
            campaign__trigger="untrusted",
        )
        .values("agent_id")
        .annotate(at=Max("created_at"))
        .values_list("agent_id", "at")
    )
    return [pk for pk, at in dropped.items() if pk not in reviewed or reviewed[pk] < at]
