"""From factors to a score, a level, its caps and pin: pure, so it is tested without a database.

Each component's earned points over its points at stake (100, attestations bounded at 100) is
multiplied by the policy's weight for it; the score is their sum, rounded. A factor with
``insufficient_data`` earns nothing and stays in the breakdown as such. The level follows from
the policy's thresholds, then caps may lower it, and an open pin replaces it.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

from agents.models import TRUST_ORDER, Agent, TrustLevel

from .factors import Component, Factor
from .facts import AgentFacts, Context
from .models import TrustPolicy
from .signals import all_factors

COMPONENT_POINTS = 100.0
COMPONENTS = tuple(c.value for c in Component)


@dataclass(frozen=True)
class Scored:
    """A factor with its contribution to the score (``points``) and what it would add."""

    factor: Factor
    points: float
    gain: float

    @property
    def advice(self) -> str:
        """What would raise the score, and by how much ("register a key credential: +4")."""
        gain = round(self.gain)
        return f"{self.factor.improve}: +{gain}" if self.factor.improve and gain > 0 else ""

    def as_json(self) -> dict:
        """The stored form: the factor's, with ``advice`` (its ``improve`` with the points it
        would add) in place of ``improve``, and its contribution to the score."""
        return self.factor.as_json(improve=False) | {
            "points": round(self.points, 2),
            "advice": self.advice,
        }


@dataclass
class Outcome:
    """One agent's computed trust: the score, the level it earns, the level it gets, and why."""

    agent_id: int
    score: int
    computed_level: str
    level: str
    caps: list[str]
    factors: list[Scored]
    policy_version: int
    pin_id: int | None = None
    components: dict[str, float] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """A digest of what matters for history: a recomputation equal to it writes nothing."""
        parts = [self.level, self.computed_level, str(self.score), str(self.policy_version)]
        parts += [str(self.pin_id or ""), ",".join(self.caps)]
        parts += [f"{s.factor.code}:{s.factor.status}:{s.points:.1f}" for s in self.factors]
        return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()

    @functools.cached_property
    def factors_json(self) -> list[dict]:
        """The breakdown as stored in the history (and, in part, in a level change's audit
        entry): built once."""
        return [s.as_json() for s in self.factors]


def level_for(score: float, policy: TrustPolicy) -> str:
    if score >= policy.trusted_min:
        return TrustLevel.TRUSTED
    if score >= policy.pending_min:
        return TrustLevel.PENDING
    return TrustLevel.UNTRUSTED


def _at_most(level: str, cap: str) -> str:
    return level if TRUST_ORDER[TrustLevel(level)] <= TRUST_ORDER[TrustLevel(cap)] else cap


def weigh(factors: list[Factor], policy: TrustPolicy) -> tuple[list[Scored], dict[str, float]]:
    """Each factor's points in the score, and each component's points."""
    earned: dict[str, float] = dict.fromkeys(COMPONENTS, 0.0)
    for f in factors:
        earned[f.component] += f.earned
    weights = {c: policy.weight(c) / COMPONENT_POINTS for c in COMPONENTS}
    # A component earns at most its 100 points (attestations may add up to more).
    bound = {
        c: min(e, COMPONENT_POINTS) / e if e > COMPONENT_POINTS else 1.0 for c, e in earned.items()
    }
    scored = [
        Scored(
            f,
            weights[f.component] * f.earned * bound[f.component],
            weights[f.component] * (f.possible - f.earned),
        )
        for f in factors
    ]
    components = {c: weights[c] * min(e, COMPONENT_POINTS) for c, e in earned.items()}
    return scored, components


def caps_for(facts: AgentFacts, ctx: Context) -> list[tuple[str, str]]:
    """Caps that hold: (code, the highest level allowed)."""
    caps = []
    if facts.status != Agent.Status.ACTIVE:
        caps.append((f"agent_{facts.status}", TrustLevel.UNTRUSTED))
    if ctx.policy.cap_unreviewed_version and facts.newer_unreviewed:
        caps.append(("version_unreviewed", TrustLevel.PENDING))
    if ctx.policy.cap_config_drift and facts.drift:
        caps.append(("config_drift", TrustLevel.PENDING))
    return caps


def compute(facts: AgentFacts, ctx: Context) -> Outcome:
    """Score one agent from its facts under the context's policy."""
    scored, components = weigh(all_factors(facts, ctx), ctx.policy)
    score = round(sum(components.values()))
    computed = level_for(score, ctx.policy)
    level = computed
    caps = caps_for(facts, ctx)
    for _, cap in caps:
        level = _at_most(level, cap)
    pin = facts.pin
    inactive = facts.status != Agent.Status.ACTIVE
    if pin is not None and not inactive:  # a pin replaces the level; never an inactive agent's
        level = pin.level
    return Outcome(
        agent_id=facts.agent_id,
        score=score,
        computed_level=str(computed),
        level=str(level),
        caps=[code for code, _ in caps],
        factors=scored,
        policy_version=ctx.policy.version,
        pin_id=pin.pk if pin is not None else None,
        components=components,
    )
