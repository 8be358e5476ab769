"""Reads of attestations: lists for people, and the attestation factors of the trust score.

``attestation_factors`` is what the scorer reads: per agent, one ``Factor`` per attestor whose
statements still count, in one query whatever the number of agents.

What counts, at ``at``: a statement of an active attestor, issued by then and not yet expired,
of a claim type the attestor may still make, and the attestor's latest of that claim type about
that agent (a new fail replaces an old pass). A statement about a configuration digest other
than the agent's current version's says nothing about what runs now, so it earns nothing
(``insufficient_data``). Each factor puts the attestor's ``cap`` at stake: all passes earn it
all (``met``), all fails earn nothing (``unmet``), a mix earns the share that passed
(``partial``). A fail is points not earned (a factor is never negative): as the attestor's
latest word it replaces an earlier pass, so the score drops by what the pass earned.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import QuerySet

from agents.permissions import restrict
from trust.factors import Component, Factor, FactorStatus

from .models import Attestation, Attestor, ClaimType, Result

_FIELDS = (
    "id",
    "agent_id",
    "attestor_id",
    "claim_type",
    "result",
    "issued_at",
    "expires_at",
    "config_digest",
    "attestor__name",
    "attestor__display_name",
    "attestor__cap",
    "attestor__claim_types",
    "agent__current_version__config_digest",
)


def attestations_visible(user) -> QuerySet[Attestation]:
    """Attestations about the agents the user may see (owners: their teams'; reviewers: all)."""
    return restrict(
        Attestation.objects.select_related("attestor", "agent"),
        user,
        team_field="agent__owner_team",
    )


def _claim(claim_type: str) -> str:
    return ClaimType(claim_type).label.lower()


def _date(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d")


def _factor(rows: list[dict], current_digest: str | None) -> Factor:
    """One attestor's factor for one agent from its latest statement per claim type."""
    first = rows[0]
    who, cap = first["attestor__display_name"], float(first["attestor__cap"])
    stale = [r for r in rows if r["config_digest"] and r["config_digest"] != current_digest]
    counted = [r for r in rows if r not in stale]
    passed = [r for r in counted if r["result"] == Result.PASS]
    failed = [r for r in counted if r["result"] == Result.FAIL]
    window = {
        "window_start": min(r["issued_at"] for r in rows),
        "window_end": min(r["expires_at"] for r in rows),
    }

    def said(items: list[dict], verb: str) -> str:
        return ", ".join(
            f"{_claim(r['claim_type'])} {verb} on {_date(r['issued_at'])}" for r in items
        )

    if not counted:
        return Factor(
            component=Component.ATTESTATIONS,
            code="attestation_stale",
            status=FactorStatus.INSUFFICIENT_DATA,
            earned=0.0,
            possible=cap,
            sentence=f"{who} examined a configuration that is not the current version "
            f"({said(stale, 'attested')})",
            improve=f"ask {who} to attest the current configuration",
            **window,
        )
    earned = round(cap * len(passed) / len(counted), 2)
    if not failed:
        status, code = FactorStatus.MET, "attestation_passed"
        sentence = f"{who}: {said(passed, 'passed')}"
        improve = ""
    else:
        status = FactorStatus.PARTIAL if passed else FactorStatus.UNMET
        code = "attestation_mixed" if passed else "attestation_failed"
        sentence = f"{who}: " + "; ".join(
            part for part in (said(failed, "FAILED"), said(passed, "passed")) if part
        )
        improve = f"resolve what {who} found and ask for a new attestation"
    if stale:
        sentence += f" (not counted, about another configuration: {said(stale, 'attested')})"
    return Factor(
        component=Component.ATTESTATIONS,
        code=code,
        status=status,
        earned=earned,
        possible=cap,
        sentence=sentence,
        improve=improve,
        **window,
    )


def attestation_factors(agent_ids: Collection[int], *, at: dt.datetime) -> dict[int, list[Factor]]:
    """Per agent id, one factor per attestor whose statements count at ``at`` (one query).

    Every requested id is a key; an agent with nothing that counts has an empty list (the
    scorer says the component has insufficient data). Revoked attestors and expired
    statements contribute nothing at all, not even their cap.
    """
    ids = list(agent_ids)
    rows = (
        Attestation.objects.filter(
            agent_id__in=ids,
            attestor__status=Attestor.Status.ACTIVE,
            issued_at__lte=at,
            expires_at__gt=at,
        )
        .order_by("agent_id", "attestor_id", "claim_type", "-issued_at", "-id")
        .values(*_FIELDS)
    )
    latest: dict[tuple[int, int, str], dict] = {}
    for row in rows:
        if row["claim_type"] not in row["attestor__claim_types"]:
            continue  # the attestor may no longer make this claim
        latest.setdefault((row["agent_id"], row["attestor_id"], row["claim_type"]), row)
    grouped: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for (agent_id, attestor_id, _), row in latest.items():
        grouped[(agent_id, attestor_id)].append(row)
    factors: dict[int, list[Factor]] = {agent_id: [] for agent_id in ids}
    for (agent_id, _), group in sorted(grouped.items()):
        digest = group[0]["agent__current_version__config_digest"]
        factors[agent_id].append(_factor(group, digest))
    return factors


@dataclass(frozen=True)
class Listed:
    """An attestation as the agent page lists it: the row and whether it counts, in words."""

    attestation: Attestation
    counts: bool
    note: str


def agent_attestations(agent, *, at: dt.datetime, limit: int = 20) -> list[Listed]:
    """The agent's newest attestations (one query), each saying whether and why it counts."""
    rows = list(
        Attestation.objects.filter(agent=agent)
        .select_related("attestor")
        .order_by("-issued_at", "-id")[:limit]
    )
    digest = agent.current_version.config_digest if agent.current_version_id else None
    seen: set[tuple[int, str]] = set()
    listed = []
    for row in rows:
        key = (row.attestor_id, row.claim_type)
        if not row.attestor.is_active:
            note = "does not count: the attestor was revoked"
        elif row.expires_at <= at:
            note = "does not count: expired"
        elif row.issued_at > at:
            note = "does not count yet"
        elif row.claim_type not in row.attestor.claim_types:
            note = "does not count: the attestor may no longer make this claim"
        elif key in seen:
            note = "replaced by a newer attestation of the same kind"
        else:
            seen.add(key)  # the latest in force of its kind: it alone speaks for the attestor
            stale = row.config_digest and row.config_digest != digest
            note = "does not count: about another configuration" if stale else ""
        listed.append(Listed(row, counts=not note, note=note or "counts"))
    return listed
