"""The sweeps that open micro-reviews from facts rather than events (run by beat, idempotent).

* its team has no active member left;
* its level is UNTRUSTED since a trust change newer than its last micro-review for that reason
  (the trust engine writes levels with ``update()``, which sends no signal; the sweep catches
  a drop within one beat interval);
* dormant: active, no use known for ``dormant_days`` and registered before that.

A critical grant opens one at once (``governance.reviews.signals``).
``review_micro_open`` keeps at most one pending micro-review per agent and trigger.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef
from django.utils import timezone

from agents.models import Agent, Team, TrustLevel
from trust.usage.models import UsageTotal

from ..models import Campaign, ReviewItem, ReviewPolicy
from .campaigns import review_micro_open


def _open_for(agents, trigger: str, now: dt.datetime) -> int:
    opened = 0
    pending = ReviewItem.objects.filter(
        agent=OuterRef("pk"),
        state=ReviewItem.State.PENDING,
        campaign__kind=Campaign.Kind.MICRO,
        campaign__trigger=trigger,
    )
    for agent in agents.exclude(Exists(pending)).iterator(chunk_size=500):
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
        trust_level=TrustLevel.UNTRUSTED, trust_updated_at__isnull=False
    ).filter(
        ~Exists(
            ReviewItem.objects.filter(
                agent=OuterRef("pk"),
                campaign__kind=Campaign.Kind.MICRO,
                campaign__trigger="untrusted",
                created_at__gte=OuterRef("trust_updated_at"),
            )
        )
    )
    cutoff = now - dt.timedelta(days=policy.dormant_days)
    recent_use = UsageTotal.objects.filter(agent_id=OuterRef("pk"), last_used_at__gte=cutoff)
    dormant = live.filter(status=Agent.Status.ACTIVE, created_at__lt=cutoff).exclude(
        Exists(recent_use)
    )
    return {
        "team_inactive": _open_for(empty_team, "team_inactive", now),
        "untrusted": _open_for(untrusted, "untrusted", now),
        "dormant": _open_for(dormant, "dormant", now),
    }
