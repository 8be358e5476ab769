"""Reads of trust for screens and endpoints: the panel, the summary, the history.

``trust_panel`` is what the agent's portal page shows (built by the ``attest`` helper): the
stored outcome of the latest computation that changed something, the open pin, and the score's
history for a chart. Reads only; nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from agents.models import Agent

from .factors import Component
from .models import TrustComputation, TrustPin
from .policy import current_policy

HISTORY_LIMIT = 90


@dataclass(frozen=True)
class FactorLine:
    code: str
    status: str
    points: float
    possible: float  # inside its component
    sentence: str
    advice: str


@dataclass(frozen=True)
class ComponentBlock:
    component: str
    label: str
    weight: int
    points: float
    factors: list[FactorLine]


@dataclass(frozen=True)
class HistoryPoint:
    at: dt.datetime
    score: int
    level: str
    pinned: bool


@dataclass(frozen=True)
class TrustPanel:
    """Everything the portal's trust panel shows about one agent."""

    score: int
    level: str
    computed_level: str | None
    caps: list[str]
    pin: TrustPin | None
    policy_version: int | None
    computed_at: dt.datetime | None
    components: list[ComponentBlock] = field(default_factory=list)
    history: list[HistoryPoint] = field(default_factory=list)
    # (score, level) lines for a chart: the lowest TRUSTED and PENDING scores of the policy
    thresholds: list[tuple[int, str]] = field(default_factory=list)


def open_pin(agent: Agent, *, now: dt.datetime | None = None) -> TrustPin | None:
    now = now or timezone.now()
    return TrustPin.objects.filter(agent=agent, ended_at__isnull=True, expires_at__gt=now).first()


def trust_history(agent: Agent, *, limit: int = HISTORY_LIMIT) -> QuerySet[TrustComputation]:
    """The agent's computations, newest first (each one changed the outcome)."""
    return TrustComputation.objects.filter(agent=agent).select_related("policy")[:limit]


def _components(latest: TrustComputation) -> list[ComponentBlock]:
    blocks = []
    for component in Component:
        rows = [f for f in latest.factors if f["component"] == component.value]
        blocks.append(
            ComponentBlock(
                component=component.value,
                label=str(component.label),
                weight=latest.policy.weight(component.value),
                points=round(sum(f["points"] for f in rows), 1),
                factors=[
                    FactorLine(
                        f["code"],
                        f["status"],
                        f["points"],
                        f["possible"],
                        f["sentence"],
                        f.get("advice", ""),
                    )
                    for f in rows
                ],
            )
        )
    return blocks


def trust_panel(agent: Agent, *, history: int = HISTORY_LIMIT) -> TrustPanel:
    """The agent's trust as stored: score, level, breakdown, pin and history (three queries)."""
    rows = list(trust_history(agent, limit=history))
    latest = rows[0] if rows else None
    policy = latest.policy if latest else current_policy()
    return TrustPanel(
        score=agent.trust_score,
        level=agent.trust_level,
        computed_level=latest.computed_level if latest else None,
        caps=list(latest.caps) if latest else [],
        pin=open_pin(agent),
        policy_version=latest.policy.version if latest else None,
        computed_at=latest.computed_at if latest else None,
        components=_components(latest) if latest else [],
        history=[
            HistoryPoint(r.computed_at, r.score, r.level, r.pin_id is not None)
            for r in reversed(rows)
        ],
        thresholds=[(policy.trusted_min, "trusted"), (policy.pending_min, "pending")],
    )


def trust_summary(agent: Agent) -> dict[str, Any]:
    """Score, level and pin in plain values (the CLI's ``show``)."""
    pin = open_pin(agent)
    return {
        "agent": agent.slug,
        "trust_score": agent.trust_score,
        "trust_level": agent.trust_level,
        "trust_updated_at": agent.trust_updated_at.isoformat() if agent.trust_updated_at else None,
        "pin": None
        if pin is None
        else {
            "level": pin.level,
            "reason": pin.reason,
            "by": pin.created_by,
            "expires_at": pin.expires_at.isoformat(),
        },
    }
