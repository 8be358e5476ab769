"""Reads for the review screens, the API and the report; each a fixed number of queries.

``agent_evidence`` is the usage evidence of one agent's grants, connections and credentials,
read from ``trust.usage.selectors.usage_evidence`` (the one source of usage), for the API and
the admin; the agent page reads the evidence once and adds ``connection_rows`` to it.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from agents.drift.selectors import awaiting_review
from agents.models import Agent, Connection, ScopeGrant
from agents.permissions import can_decide
from credentials.models import Credential
from trust.usage.selectors import Usage, UsageEvidence, usage_evidence

from .build import LIVE_CREDENTIALS, usage_key
from .models import Campaign, Decision, ReviewItem, ReviewLine, ReviewPolicy
from .permissions import campaigns_visible_to, items_visible_to

# -- usage evidence of one agent ---------------------------------------------------------------

PARTS = ("grants", "connections", "credentials")


@dataclass(frozen=True)
class EvidenceRow:
    kind: str
    label: str
    usage: Usage
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        used = self.usage.last_used_at
        return {
            "kind": self.kind,
            "name": self.label,
            "detail": self.detail,
            "last_used_at": used.isoformat() if used else None,
            "uses_30d": self.usage.uses_30d,
            "uses_90d": self.usage.uses_90d,
        }


def agent_evidence(
    agent: Agent, *, now: dt.datetime | None = None, parts: tuple[str, ...] = PARTS
) -> dict[str, Any]:
    """Last use and 30/90-day uses of every live grant, connection and credential (at most 6
    queries; ``parts`` leaves out what a page shows elsewhere)."""
    now = now or timezone.now()
    ev = usage_evidence(agent_ids=[agent.pk], now=now)
    out: dict[str, Any] = {"as_of": ev.as_of, "grants": [], "connections": [], "credentials": []}
    if "grants" in parts:
        out["grants"] = _grant_rows(agent, ev, now)
    if "connections" in parts:
        out["connections"] = connection_rows(agent, ev)
    if "credentials" in parts:
        out["credentials"] = [
            EvidenceRow("credential", pk, ev.credential(pk), status)
            for pk, status in Credential.objects.filter(agent=agent, status__in=LIVE_CREDENTIALS)
            .order_by("-created_at")
            .values_list("pk", "status")
        ]
    return out


def connection_rows(agent: Agent, ev: UsageEvidence) -> list[EvidenceRow]:
    """The agent's connections with their use, from evidence already read (one query)."""
    return [
        EvidenceRow("connection", slug, ev.connection(agent.pk, slug), ", ".join(actions))
        for slug, actions in Connection.objects.filter(agent=agent)
        .order_by("resource__slug")
        .values_list("resource__slug", "allowed_actions")
    ]


def _grant_rows(agent: Agent, ev, now: dt.datetime) -> list[EvidenceRow]:
    return [
        EvidenceRow("grant", name, ev.grant(agent.pk, usage_key(*name.split(":", 1))), sens)
        for name, sens in ScopeGrant.objects.active(now)
        .filter(agent=agent)
        .order_by("scope__name")
        .values_list("scope__name", "scope__sensitivity")
    ]


# -- items, campaigns, the workbench ----------------------------------------------------------


def item_lines(item: ReviewItem) -> QuerySet[ReviewLine]:
    return item.lines.select_related("decided_by").order_by("kind", "label")


def item_page(item: ReviewItem) -> dict[str, Any]:
    """One item with its lines grouped by kind (three queries whatever the size)."""
    groups: dict[str, list[ReviewLine]] = defaultdict(list)
    for line in item_lines(item):
        groups[line.kind].append(line)
    return {
        "item": item,
        "grants": groups[ReviewLine.Kind.GRANT],
        "connections": groups[ReviewLine.Kind.CONNECTION],
        "credentials": groups[ReviewLine.Kind.CREDENTIAL],
        "reviewers": list(item.campaign.reviewers.all()),
    }


def campaigns_with_counts(user) -> QuerySet[Campaign]:
    visible = items_visible_to(user).values("pk")
    return campaigns_visible_to(user).annotate(
        total=Count("items", filter=Q(items__in=visible)),
        pending=Count("items", filter=Q(items__in=visible, items__state="pending")),
    )


WORKBENCH_CONFIGURATIONS = 50


def workbench(user) -> dict[str, Any]:
    """My open campaigns (assigned to me, or to nobody); for an owner who is not a reviewer,
    their agents' items waiting in them; and the observed configurations (drift) of agents I
    see that await a review, oldest first."""
    open_ = campaigns_with_counts(user).filter(state=Campaign.State.OPEN)
    mine = open_.filter(Q(reviewers=user) | Q(reviewers__isnull=True)).distinct()
    reviewer = can_decide(user)
    owned = (
        items_visible_to(user)
        .filter(state=ReviewItem.State.PENDING)
        .order_by("campaign__due_at", "agent__slug")
    )
    drift = awaiting_review(user, limit=WORKBENCH_CONFIGURATIONS)
    return {
        "campaigns": mine.order_by("due_at")[:100],
        "reviewer": reviewer,
        "owned": [] if reviewer else owned[:100],
        "configurations": drift[:WORKBENCH_CONFIGURATIONS],
        "configurations_more": len(drift) > WORKBENCH_CONFIGURATIONS,
    }


# -- the report --------------------------------------------------------------------------------

REPORT_COLUMNS = [
    "campaign", "item", "agent", "team", "risk", "trust_level", "item_state", "kind", "name",
    "sensitivity", "last_used_at", "uses_30d", "uses_90d", "age_days", "recommendation",
    "reason", "decision", "comment", "decided_by", "signed_off_at", "result", "result_detail",
]  # fmt: skip


def report_rows(campaign: Campaign, user) -> Iterator[list[Any]]:
    """One row per line the user may see, for the CSV and the printable page."""
    lines = (
        ReviewLine.objects.filter(item__in=items_visible_to(user).filter(campaign=campaign))
        .select_related("item__agent__owner_team", "item__decided_by")
        .order_by("item__agent__slug", "kind", "label")
    )
    for line in lines.iterator(chunk_size=2000):
        item = line.item
        yield [
            campaign.pk, item.pk, item.agent.slug, item.agent.owner_team.slug, item.risk,
            item.trust_level, item.state, line.kind, line.label, line.sensitivity,
            line.last_used_at.isoformat() if line.last_used_at else "", line.uses_30d,
            line.uses_90d, line.age_days, line.recommendation, line.reason, line.decision,
            line.comment, item.decided_by.get_username() if item.decided_by_id else "",
            item.signed_off_at.isoformat() if item.signed_off_at else "", line.result,
            line.result_detail,
        ]  # fmt: skip


@dataclass(frozen=True)
class ReviewerStats:
    username: str
    items: int
    lines: int
    kept: int
    median_seconds: float | None
    flags: tuple[str, ...]

    @property
    def keep_ratio(self) -> float:
        return self.kept / self.lines if self.lines else 0.0


def reviewer_stats(campaign: Campaign) -> list[ReviewerStats]:
    """Per reviewer: items signed off, share kept, time per item; rubber-stamping flagged.

    Flagged: keeping every line of items signed off faster than the policy's seconds apart
    (the median of those gaps), or keeping at least the policy's share of all lines.
    """
    policy = ReviewPolicy.current()
    items = (
        ReviewItem.objects.filter(campaign=campaign, state=ReviewItem.State.SIGNED_OFF)
        .exclude(decided_by=None)
        .select_related("decided_by")
        .annotate(n=Count("lines"), kept=Count("lines", filter=Q(lines__decision=Decision.KEEP)))
    )
    per: dict[str, list[ReviewItem]] = defaultdict(list)
    for item in items:
        per[item.decided_by.get_username()].append(item)
    stats = []
    for username, done in sorted(per.items()):
        lines = sum(i.n for i in done)
        kept = sum(i.kept for i in done)
        all_kept = [i.decision_seconds for i in done if i.kept == i.n and i.decision_seconds]
        median = statistics.median(all_kept) if all_kept else None
        flags = []
        if len(done) >= policy.rubber_stamp_min_items:
            if median is not None and median < policy.rubber_stamp_seconds:
                flags.append(f"kept everything in under {policy.rubber_stamp_seconds:g} s per item")
            if lines and kept / lines >= policy.rubber_stamp_keep_ratio:
                flags.append(f"kept {kept / lines:.0%} of lines")
        stats.append(ReviewerStats(username, len(done), lines, kept, median, tuple(flags)))
    return stats


def campaign_summary(campaign: Campaign, user) -> dict[str, Any]:
    visible = items_visible_to(user).filter(campaign=campaign)
    counts = visible.aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=Q(state=ReviewItem.State.PENDING)),
        signed_off=Count("pk", filter=Q(state=ReviewItem.State.SIGNED_OFF)),
        by_policy=Count("pk", filter=Q(state=ReviewItem.State.CLOSED_BY_POLICY)),
    )
    lines = ReviewLine.objects.filter(item__in=visible).aggregate(
        total=Count("pk"),
        revoke=Count("pk", filter=Q(decision=Decision.REVOKE)),
        reduce=Count("pk", filter=Q(decision=Decision.REDUCE)),
        keep=Count("pk", filter=Q(decision=Decision.KEEP)),
        recommended=Count("pk", filter=~Q(recommendation=Decision.KEEP)),
    )
    return {"campaign": campaign, "counts": counts, "lines": lines}


def items_for_page(campaign: Campaign, user) -> QuerySet[ReviewItem]:
    return (
        items_visible_to(user)
        .filter(campaign=campaign)
        .annotate(
            n_lines=Count("lines"),
            n_recommended=Count("lines", filter=~Q(lines__recommendation=Decision.KEEP)),
        )
        .order_by("state", "agent__slug")
    )
