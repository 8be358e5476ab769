"""The agent page's trust panel: the engine's stored outcome put into words and a chart.

Reads ``trust.selectors.trust_panel`` (score, level, pin, caps, breakdown, history and the
level thresholds of the policy it was computed under); adds nothing the engine did not store.
A pin is shown as a pin (who, why, until when) beside the computed score, never as a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from agents.models import Agent, TrustLevel
from trust.factors import FactorStatus
from trust.models import TrustPin
from trust.selectors import TrustPanel, trust_panel

from .charts import Point, describe, score_history_svg

# What each cap the engine applies means, for a person.
CAPS = {
    "version_unreviewed": "a newer version of the agent awaits review",
    "config_drift": "the agent ran a configuration nobody has reviewed",
    "agent_suspended": "the agent is suspended",
    "agent_decommissioned": "the agent is decommissioned",
}


@dataclass(frozen=True)
class Line:
    """One factor as the breakdown says it: points in the score out of what it could earn."""

    status: str
    status_label: str
    sentence: str
    points: float
    most: float
    advice: str


@dataclass(frozen=True)
class Block:
    label: str
    points: float
    weight: int
    lines: list[Line]


def _level(value: str | None) -> str:
    return TrustLevel(value).label if value in TrustLevel.values else ""


def _blocks(panel: TrustPanel) -> list[Block]:
    blocks = []
    for component in panel.components:
        lines = [
            Line(
                status=f.status,
                status_label=(
                    FactorStatus(f.status).label if f.status in FactorStatus.values else f.status
                ),
                sentence=f.sentence,
                points=round(f.points, 1),
                most=round(component.weight * f.possible / 100, 1),
                advice=f.advice,
            )
            for f in component.factors
        ]
        blocks.append(Block(component.label, round(component.points, 1), component.weight, lines))
    return blocks


def with_pins(agents: QuerySet[Agent]) -> QuerySet[Agent]:
    """Agents annotated ``trust_pinned`` (in the same query), so lists show a pin as a pin."""
    now = timezone.now()
    pins = TrustPin.objects.filter(agent=OuterRef("pk"), ended_at__isnull=True, expires_at__gt=now)
    return agents.annotate(trust_pinned=Exists(pins))


def _advice(blocks: list[Block], most: int = 3) -> list[str]:
    """What would raise the score most: each action once, with the points of every factor it
    would earn ("issue a credential" earns both "a usable credential" and "credential age")."""
    gains: dict[str, float] = {}
    for line in (line for block in blocks for line in block.lines if line.advice):
        action, _, points = line.advice.rpartition(": +")
        try:
            gains[action] = gains.get(action, 0) + float(points)
        except ValueError:
            gains[line.advice] = gains.get(line.advice, 0)
    ranked = sorted(gains.items(), key=lambda item: -item[1])[:most]
    return [f"{action}: +{gain:g}" if gain else action for action, gain in ranked]


def trust_context(agent: Agent) -> dict[str, Any]:
    """What ``portal/_trust_panel.html`` shows (a fixed number of queries)."""
    panel = trust_panel(agent)
    points = [
        Point(p.at, p.score, _level(p.level).lower() + (", pinned" if p.pinned else ""))
        for p in panel.history
    ]
    thresholds = [(score, f"{level} from {score}") for score, level in panel.thresholds]
    blocks = _blocks(panel)
    return {
        "trust": panel,
        "trust_computed_level": _level(panel.computed_level),
        "trust_caps": [CAPS.get(code, code.replace("_", " ")) for code in panel.caps],
        "trust_blocks": blocks,
        "trust_advice": _advice(blocks),
        "trust_chart": score_history_svg(
            points,
            title=f"Trust score of {agent.slug} over time",
            thresholds=thresholds,
            chart_id="trust-history",
        ),
        "trust_chart_text": describe(points),
        "trust_thresholds": thresholds,
    }
