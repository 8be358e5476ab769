"""Facts the signals judge, loaded for a batch of agents in a fixed number of queries.

Signals are pure functions of these facts (``trust/signals/``), so they are tested with
hand-made facts and the loader is tested for its query count: the number of queries here does
not depend on how many agents are in the batch (pass at most a few thousand ids at a time).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Min, Q, Sum

from agents.models import Agent, AgentVersion, OrganisationPolicy, ScopeGrant
from credentials.models import Credential

from .extensions import attestation_factors, unreviewed_drift
from .factors import Factor
from .models import ReviewOutcome, TrustPin, TrustPolicy
from .usage.baselines import BASELINES, Slot, hour_index
from .usage.models import UsageBaseline, UsageHour, UsageTotal, UsageWatermark

VOLUME = F("allowed") + F("denied") + F("pending")


@dataclass(frozen=True)
class Batch:
    """The agents of one batch: their ids, or a range of ids (``lo < id <= hi``).

    A range (what ``recompute_all`` walks) filters every query by two bounds instead of an IN
    list of thousands of ids, which cost both Django and the database more than the rows did.
    """

    ids: tuple[int, ...] = ()
    span: tuple[int, int] | None = None

    def q(self, field: str = "agent_id") -> Q:
        if self.span is not None:
            lo, hi = self.span
            return Q(**{f"{field}__gt": lo, f"{field}__lte": hi})
        return Q(**{f"{field}__in": self.ids})


@dataclass(frozen=True)
class CredentialFact:
    id: str
    kind: str
    created_at: dt.datetime


@dataclass(frozen=True)
class VersionFact:
    label: str
    reviewed: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class GrantFact:
    scope: str
    sensitivity: str
    justified: bool
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class ReviewFact:
    certified: bool
    reference: str
    decided_at: dt.datetime


@dataclass
class UsageFacts:
    """The agent's folded audit log: window totals, recent hours and their baselines."""

    first_seen: dt.datetime | None = None
    allowed: int = 0
    denied: int = 0
    pending: int = 0
    auth_failed: int = 0
    credential_events: int = 0
    # (resource, hour index) -> decisions in that closed hour; resource "" is all resources.
    hours: dict[tuple[str, int], int] = field(default_factory=dict)
    # (resource, hour of week) -> baseline slot
    slots: dict[tuple[str, int], Slot] = field(default_factory=dict)
    # resource -> first decision on it, for the resources first used within the policy's
    # ``new_resource_days`` (the only ones a signal reads: loading every resource's first use
    # cost more than the rest of the batch's facts)
    resources_first_seen: dict[str, dt.datetime] = field(default_factory=dict)
    # the behaviour signal's judgement of ``hours`` against ``slots``, worked out once
    judged: list[tuple] | None = None


@dataclass
class AgentFacts:
    """Everything the signals know about one agent at ``now``."""

    agent_id: int
    slug: str
    status: str
    trust_score: int
    trust_level: str
    display_name: str
    purpose: str
    team_id: int
    team_slug: str
    team_active: bool
    team_members: int
    current_version: VersionFact | None
    newer_unreviewed: list[str] = field(default_factory=list)
    requested_scopes: set[str] = field(default_factory=set)
    credentials: list[CredentialFact] = field(default_factory=list)
    grants: list[GrantFact] = field(default_factory=list)
    review: ReviewFact | None = None
    usage: UsageFacts = field(default_factory=UsageFacts)
    attestations: list[Factor] | None = None  # None: attestations are not built yet
    drift: list[str] | None = None  # unreviewed observed digests; None: drift is not built yet
    pin: TrustPin | None = None


@dataclass(frozen=True)
class Context:
    """What every agent of a batch shares: the moment, the policies, the baselines' horizon."""

    now: dt.datetime
    policy: TrustPolicy
    rotation_max_age_days: int
    closed_through: int | None  # last hour folded into the baselines (hour index)


def load_context(*, now: dt.datetime, policy: TrustPolicy) -> Context:
    """Two queries: the organisation's rotation policy and the baselines' watermark."""
    org = OrganisationPolicy.objects.filter(pk=1).values_list("credential_max_age_days", flat=True)
    mark = UsageWatermark.objects.filter(name=BASELINES).values_list("position", flat=True)
    position = mark.first()
    return Context(
        now=now,
        policy=policy,
        rotation_max_age_days=org.first() or OrganisationPolicy().credential_max_age_days,
        closed_through=position or None,
    )


def load_facts(
    agent_ids: Collection[int], ctx: Context, *, span: tuple[int, int] | None = None
) -> dict[int, AgentFacts]:
    """The facts of every agent in ``agent_ids`` (a fixed number of queries).

    ``span``: the ids are every agent with ``lo < id <= hi``; the queries filter by the range.
    """
    batch = Batch(tuple(agent_ids), span)
    now = ctx.now
    # Plain rows rather than model instances: three instances per agent cost more than its
    # signals.
    rows = Agent.objects.filter(batch.q("pk")).values_list(
        "pk",
        "slug",
        "status",
        "display_name",
        "purpose",
        "trust_score",
        "trust_level",
        "owner_team_id",
        "owner_team__slug",
        "owner_team__is_active",
        "owner_team__group_id",
        "current_version__label",
        "current_version__reviewed",
        "current_version__created_at",
    )
    facts: dict[int, AgentFacts] = {}
    group_of: dict[int, int] = {}
    for (
        pk,
        slug,
        status,
        name,
        purpose,
        score,
        level,
        team_id,
        team_slug,
        team_active,
        group_id,
        label,
        reviewed,
        version_at,
    ) in rows:
        if group_id:
            group_of[pk] = group_id
        facts[pk] = AgentFacts(
            agent_id=pk,
            slug=slug,
            status=status,
            trust_score=score,
            trust_level=level,
            display_name=name,
            purpose=purpose,
            team_id=team_id,
            team_slug=team_slug,
            team_active=team_active,
            team_members=0,
            current_version=VersionFact(label, reviewed, version_at) if label is not None else None,
        )
    if not facts:
        return facts
    ids = list(facts)
    members = dict(
        get_user_model()
        .objects.filter(is_active=True, groups__in=set(group_of.values()))
        .values_list("groups")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for agent_id, group_id in group_of.items():
        facts[agent_id].team_members = members.get(group_id, 0)

    _versions(facts, batch)
    for cred_id, agent_id, kind, created_at in (
        Credential.objects.filter(batch.q())
        .usable(now)
        .values_list("id", "agent_id", "kind", "created_at")
    ):
        facts[agent_id].credentials.append(CredentialFact(cred_id, kind, created_at))
    for agent_id, scope, sensitivity, justification, expires_at in (
        ScopeGrant.objects.filter(batch.q())
        .active(now)
        .values_list("agent_id", "scope__name", "scope__sensitivity", "justification", "expires_at")
    ):
        facts[agent_id].grants.append(
            GrantFact(scope, sensitivity, bool((justification or "").strip()), expires_at)
        )
    for outcome in ReviewOutcome.objects.filter(batch.q()).order_by(
        "agent_id", "-decided_at", "-id"
    ):
        fact = facts[outcome.agent_id]
        if fact.review is None:  # the newest, first of each agent's run
            fact.review = ReviewFact(outcome.certified, outcome.reference, outcome.decided_at)
    for pin in TrustPin.objects.filter(batch.q(), ended_at__isnull=True, expires_at__gt=now):
        facts[pin.agent_id].pin = pin
    _usage(facts, batch, ctx)
    attested = attestation_factors(ids, at=now)
    drifted = unreviewed_drift(ids)
    for agent_id, fact in facts.items():
        if attested is not None:
            fact.attestations = attested.get(agent_id, [])
        if drifted is not None:
            fact.drift = drifted.get(agent_id, [])
    return facts


def _versions(facts: dict[int, AgentFacts], batch: Batch) -> None:
    """Newer unreviewed versions and the current version's requested scopes (two queries)."""
    latest_reviewed: dict[int, dt.datetime] = {}
    rows = AgentVersion.objects.filter(batch.q()).values_list(
        "agent_id", "label", "reviewed", "created_at"
    )
    unreviewed: dict[int, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for agent_id, label, reviewed, created_at in rows:
        if reviewed:
            if created_at > latest_reviewed.get(agent_id, created_at - dt.timedelta(1)):
                latest_reviewed[agent_id] = created_at
        else:
            unreviewed[agent_id].append((created_at, label))
    for agent_id, versions in unreviewed.items():
        floor = latest_reviewed.get(agent_id)
        facts[agent_id].newer_unreviewed = [
            label for created_at, label in sorted(versions) if floor is None or created_at > floor
        ]
    through = AgentVersion.requested_scopes.through
    for agent_id, scope in through.objects.filter(
        batch.q("agentversion__agent_id"),
        agentversion__pk=F("agentversion__agent__current_version_id"),
    ).values_list("agentversion__agent_id", "scope__name"):
        facts[agent_id].requested_scopes.add(scope)


def _usage(facts: dict[int, AgentFacts], batch: Batch, ctx: Context) -> None:
    """The folded audit log of the batch (five queries)."""
    policy, now = ctx.policy, ctx.now
    since = now - dt.timedelta(days=policy.behaviour_window_days)
    for row in (
        UsageHour.objects.filter(batch.q(), hour__gte=since)
        .values("agent_id")
        .annotate(
            a=Sum("allowed"),
            d=Sum("denied"),
            p=Sum("pending"),
            f=Sum("auth_failed"),
            c=Sum(F("issued") + F("refused") + F("auth_failed")),
        )
        .order_by()
    ):
        usage = facts[row["agent_id"]].usage
        usage.allowed, usage.denied, usage.pending = row["a"] or 0, row["d"] or 0, row["p"] or 0
        usage.auth_failed, usage.credential_events = row["f"] or 0, row["c"] or 0
    totals = UsageTotal.objects.filter(batch.q())
    firsts = totals.values_list("agent_id").annotate(first=Min("first_at")).order_by()
    for agent_id, first in firsts:
        facts[agent_id].usage.first_seen = first
    fresh = now - dt.timedelta(days=policy.new_resource_days)
    for agent_id, resource, first in (
        totals.exclude(resource="")
        .values_list("agent_id", "resource")
        .annotate(first=Min("first_at"))
        .filter(first__gte=fresh)
        .order_by()
    ):
        facts[agent_id].usage.resources_first_seen[resource] = first
    if ctx.closed_through is None:
        return
    from .usage.baselines import hour_of_week, hour_start

    last = ctx.closed_through
    first_hour = last - policy.volume_window_hours + 1
    slots: set[int] = set()
    for agent_id, resource, hour, n in (
        UsageHour.objects.filter(
            batch.q(), hour__gte=hour_start(first_hour), hour__lt=hour_start(last + 1)
        )
        .exclude(resource="")
        .values_list("agent_id", "resource", "hour")
        .annotate(n=Sum(VOLUME))
        .filter(n__gt=0)
        .order_by()
    ):
        hours = facts[agent_id].usage.hours
        index = hour_index(hour)
        hours[(resource, index)] = hours.get((resource, index), 0) + n
        hours[("", index)] = hours.get(("", index), 0) + n
        slots.add(hour_of_week(index))
    if not slots:
        return
    columns = ("mean", "mean_sq", "week", "prev_mean", "prev_mean_sq", "prev_week")
    for agent_id, resource, slot, *state in UsageBaseline.objects.filter(
        batch.q(), hour_of_week__in=slots
    ).values_list("agent_id", "resource", "hour_of_week", *columns):
        facts[agent_id].usage.slots[(resource, slot)] = Slot(*state)
