"""Trust signals: pure functions of an agent's loaded facts (``trust.facts``) returning Factors.

Each module judges one component; ``all_factors`` runs them all. Points at stake inside a
component sum to 100 (attestations: each attestor's cap, the component bounded at 100), so a
component's share of the score is its earned points over 100 times the policy's weight.
"""

from __future__ import annotations

from ..factors import Factor
from ..facts import AgentFacts, Context
from . import attestations, behaviour, compliance, identity


def all_factors(facts: AgentFacts, ctx: Context) -> list[Factor]:
    """Every factor of one agent, component by component."""
    return [
        *identity.factors(facts, ctx),
        *behaviour.factors(facts, ctx),
        *compliance.factors(facts, ctx),
        *attestations.factors(facts, ctx),
    ]
