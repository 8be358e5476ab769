"""Prometheus counters of the decision point: decisions by outcome and primary reason, their
latency, and callers refused before a decision (bad credentials, throttled, bad input).

Written by the view (``governance.decisions.views``), one increment and one observation per
request, from the answer it already holds. The reason label is the answer's first reason (a
code from ``governance.decisions.policy``, a fixed set), ``none`` for a plain allow.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from credentials.metrics import LATENCY_BUCKETS

DECISIONS = Counter(
    "governance_decisions",
    "Decision point answers by outcome (allow, deny, approval_required, or rejected for a "
    "request refused before deciding) and primary reason.",
    ["outcome", "reason"],
)
DECISION_SECONDS = Histogram(
    "governance_decision_seconds",
    "Decision point latency (seconds, in the view: middleware excluded).",
    buckets=LATENCY_BUCKETS,
)


def decided(outcome: str, reasons: list[str], seconds: float) -> None:
    DECISIONS.labels(outcome, reasons[0] if reasons else "none").inc()
    DECISION_SECONDS.observe(seconds)


def rejected(error: str, seconds: float) -> None:
    DECISIONS.labels("rejected", error).inc()
    DECISION_SECONDS.observe(seconds)
