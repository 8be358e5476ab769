"""Attestations: the factors ``trust.attestations`` judges, bounded together at 100 points.

Each attestor's factor puts its own cap at stake; none at all is ``insufficient_data``.
"""

from __future__ import annotations

from ..factors import Component, Factor, FactorStatus
from ..facts import AgentFacts, Context

C = Component.ATTESTATIONS
COMPONENT_POINTS = 100


def factors(facts: AgentFacts, ctx: Context) -> list[Factor]:
    if facts.attestations:
        return list(facts.attestations)
    return [
        Factor(
            C,
            "attestations_none",
            FactorStatus.INSUFFICIENT_DATA,
            0,
            COMPONENT_POINTS,
            "no valid attestation on record",
            "ask a registered attestor for a signed attestation",
        )
    ]
