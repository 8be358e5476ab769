"""What every trust signal returns: points at stake, points earned, and a sentence a person reads.

A signal is a pure function of stored facts. It returns ``Factor``s; the scorer (``trust``'s
scoring module) weighs them per component into a 0–100 score. The shape is fixed here so the
behaviour signals (built from the audit aggregator's counters) and the identity, compliance and
attestation signals stay interchangeable for the scorer, the stored history and the breakdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models


class Component(models.TextChoices):
    IDENTITY = "identity", "Identity"
    BEHAVIOUR = "behaviour", "Behaviour"
    COMPLIANCE = "compliance", "Compliance posture"
    ATTESTATIONS = "attestations", "Attestations"


class FactorStatus(models.TextChoices):
    MET = "met", "Met"
    PARTIAL = "partial", "Partly met"
    UNMET = "unmet", "Not met"
    # Not enough data to judge: it earns nothing and says so; never a silent neutral default.
    INSUFFICIENT_DATA = "insufficient_data", "Insufficient data"


@dataclass(frozen=True)
class Factor:
    """One judged piece of evidence about one agent.

    ``possible`` is what the factor puts at stake inside its component; ``earned`` is in
    ``[0, possible]`` (a penalty is points not earned, so the component stays in 0–100).
    ``code`` is a stable machine-readable reason (``credential_age_exceeded``); ``sentence``
    says it to a person ("credential is 212 days old; policy allows 90"); ``improve`` says what
    would earn the missing points ("register a key credential"), empty when nothing would.
    """

    component: Component
    code: str
    status: FactorStatus
    earned: float
    possible: float
    sentence: str
    improve: str = ""
    window_start: datetime | None = None
    window_end: datetime | None = None

    def __post_init__(self) -> None:
        if self.possible < 0 or not 0 <= self.earned <= self.possible:
            raise ValueError(f"{self.code}: earned {self.earned} outside [0, {self.possible}]")

    @property
    def missing(self) -> float:
        """Points this factor could still add to its component."""
        return self.possible - self.earned

    def as_json(self, *, improve: bool = True) -> dict:
        """The stored form, in a score's history (datetimes as ISO 8601); without ``improve``
        where the scorer stores its advice instead."""
        stored = {
            "component": str(self.component),
            "code": self.code,
            "status": str(self.status),
            "earned": self.earned,
            "possible": self.possible,
            "sentence": self.sentence,
        }
        if improve:
            stored["improve"] = self.improve
        stored["window_start"] = self.window_start.isoformat() if self.window_start else None
        stored["window_end"] = self.window_end.isoformat() if self.window_end else None
        return stored
