"""The demo organisation's past: usage histories seeded into the usage facts, then the engine.

A fresh demo has no audit log of past work, so its agents' last six weeks are written straight
into the hourly counters (``trust.usage``), folded into baselines, and then every demo agent's
trust is computed by the engine: no level is set by hand. A ``usage rebuild`` forgets these
histories (they are not in the audit log), as it forgets anything archived.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from agents.models import Agent
from trust.recompute import recompute_agents
from trust.services import record_review_outcome
from trust.usage.baselines import baselines_update
from trust.usage.models import UsageHour, UsageTotal

WEEKS = 6
PER_HOUR = 20  # decisions in each working hour: weekdays 09:00–17:00 UTC
SURGE = 40  # times the usual volume in the surge's hour


def _history(agent: Agent, resource: str, action: str, *, now: dt.datetime, surge: bool):
    last = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)  # closed
    hour = last - dt.timedelta(weeks=WEEKS)
    rows = []
    while hour < last:
        office = hour.weekday() < 5 and 9 <= hour.hour < 17
        # The surging agent also runs a job each week in the surge's hour: its usual there is
        # PER_HOUR, so the surge reads as 40x, not as work at an hour it never works.
        job = surge and (hour.weekday(), hour.hour) == (last.weekday(), last.hour)
        if office or job:
            rows.append(
                UsageHour(
                    agent=agent,
                    hour=hour,
                    resource=resource,
                    action=action,
                    allowed=PER_HOUR,
                    denied=hour.hour == 9,
                )  # a stray denial a day
            )
        hour += dt.timedelta(hours=1)
    if surge:
        rows.append(
            UsageHour(
                agent=agent, hour=last, resource=resource, action=action, allowed=PER_HOUR * SURGE
            )
        )
    UsageHour.objects.bulk_create(rows)
    UsageTotal.objects.create(
        agent=agent,
        resource=resource,
        action=action,
        first_at=rows[0].hour,
        last_at=rows[-1].hour,
        last_used_at=rows[-1].hour,
    )


def seed_and_compute(specs: list[dict], agents: dict[str, Agent]) -> None:
    """Seed the histories of the given (freshly created) agents, then compute their trust."""
    if not specs:
        return
    now = timezone.now()
    for spec in specs:
        agent = agents[spec["slug"]]
        profile = spec.get("usage")
        if profile and not UsageTotal.objects.filter(agent=agent).exists():
            resource, actions, *_ = spec["connections"][0]
            _history(agent, resource, actions[0], now=now, surge=profile == "surge")
        if spec.get("review"):
            record_review_outcome(
                agent=agent,
                certified=True,
                reference=f"demo access review {now:%Y-%m}",
                at=now - dt.timedelta(days=12),
            )
    baselines_update(through=now)
    recompute_agents([agents[spec["slug"]].pk for spec in specs], now=now)
