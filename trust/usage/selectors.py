"""Evidence of use for access reviews: last use and uses in 30 and 90 days, in three queries.

A *use* of a grant (agent × scope ``resource:action``) or of a connection (agent × resource) is
an allowed decision; a use of a credential is a token issued on its authentication (client
credentials or token exchange). Denied and pending decisions, refused token requests and failed
authentications are counted too (``UsageHour``) but are not uses.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from django.db.models import Q, Sum
from django.utils import timezone

from .fold import USAGE
from .models import EVIDENCE_WINDOWS_DAYS, NO_CREDENTIAL, UsageHour, UsageTotal, UsageWatermark

WINDOWS_DAYS = EVIDENCE_WINDOWS_DAYS


@dataclass(frozen=True)
class Usage:
    """Last use (None: never, as far as the log still shows) and uses in the last 30/90 days."""

    last_used_at: dt.datetime | None = None
    uses_30d: int = 0
    uses_90d: int = 0

    @property
    def ever_used(self) -> bool:
        return self.last_used_at is not None

    def unused_for_days(self, now: dt.datetime) -> int | None:
        """Whole days since the last use, None if never used."""
        return None if self.last_used_at is None else (now - self.last_used_at).days


NEVER = Usage()


@dataclass(frozen=True)
class UsageEvidence:
    """Usage of a set of agents' grants, connections and credentials, as of ``as_of``.

    ``as_of`` is the time of the newest audit entry folded (None before the first fold): a use
    after it is not known yet.
    """

    now: dt.datetime
    as_of: dt.datetime | None
    grants: Mapping[tuple[int, str], Usage] = field(default_factory=dict)
    connections: Mapping[tuple[int, str], Usage] = field(default_factory=dict)
    credentials: Mapping[str, Usage] = field(default_factory=dict)

    def grant(self, agent_id: int, scope: str) -> Usage:
        """Usage of the scope ``resource:action`` by the agent."""
        return self.grants.get((agent_id, scope), NEVER)

    def connection(self, agent_id: int, resource_slug: str) -> Usage:
        return self.connections.get((agent_id, resource_slug), NEVER)

    def credential(self, credential_id: str) -> Usage:
        return self.credentials.get(str(credential_id), NEVER)


@dataclass
class _Tally:
    last: dt.datetime | None = None
    counts: list[int] = field(default_factory=lambda: [0, 0])

    def seen(self, at: dt.datetime | None) -> None:
        if at is not None and (self.last is None or at > self.last):
            self.last = at

    def usage(self) -> Usage:
        return Usage(self.last, *self.counts)


def usage_evidence(*, agent_ids: Collection[int], now: dt.datetime | None = None) -> UsageEvidence:
    """Usage of every grant, connection and credential of ``agent_ids`` (three queries)."""
    now = now or timezone.now()
    as_of = UsageWatermark.objects.filter(name=USAGE).values_list("through", flat=True).first()
    ids = list(agent_ids)
    grants: dict[tuple[int, str], _Tally] = defaultdict(_Tally)
    connections: dict[tuple[int, str], _Tally] = defaultdict(_Tally)
    credentials: dict[str, _Tally] = defaultdict(_Tally)

    def tallies(agent_id: int, resource: str, action: str, credential_id: str) -> list[_Tally]:
        if resource:
            return [connections[(agent_id, resource)], grants[(agent_id, f"{resource}:{action}")]]
        return [credentials[credential_id]] if credential_id != NO_CREDENTIAL else []

    totals = UsageTotal.objects.filter(agent_id__in=ids, last_used_at__isnull=False).values_list(
        "agent_id", "resource", "action", "credential_id", "last_used_at"
    )
    for agent_id, resource, action, credential_id, last_used_at in totals:
        for tally in tallies(agent_id, resource, action, credential_id):
            tally.seen(last_used_at)

    cutoffs = {days: now - dt.timedelta(days=days) for days in WINDOWS_DAYS}
    sums = {}
    for days, cutoff in cutoffs.items():
        sums[f"allowed_{days}"] = Sum("allowed", filter=Q(hour__gte=cutoff))
        sums[f"issued_{days}"] = Sum("issued", filter=Q(hour__gte=cutoff))
    rows = (
        UsageHour.objects.filter(agent_id__in=ids, hour__gte=min(cutoffs.values()), hour__lte=now)
        .values("agent_id", "resource", "action", "credential_id")
        .annotate(**sums)
        .order_by()
    )
    for row in rows:
        counter = "allowed" if row["resource"] else "issued"
        for tally in tallies(row["agent_id"], row["resource"], row["action"], row["credential_id"]):
            for i, days in enumerate(WINDOWS_DAYS):
                tally.counts[i] += row[f"{counter}_{days}"] or 0

    return UsageEvidence(
        now=now,
        as_of=as_of,
        grants={key: tally.usage() for key, tally in grants.items()},
        connections={key: tally.usage() for key, tally in connections.items()},
        credentials={key: tally.usage() for key, tally in credentials.items()},
    )


# Denials in the current and the previous hour from which an agent's trust is recomputed at
# once, rather than at the next scheduled recomputation.
BURST_DENIALS = 50


def denial_bursts(*, now: dt.datetime | None = None, threshold: int = BURST_DENIALS) -> list[int]:
    """Agents denied at least ``threshold`` times since the start of the previous hour."""
    now = now or timezone.now()
    since = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    return list(
        UsageHour.objects.filter(hour__gte=since)
        .values("agent_id")
        .annotate(denied=Sum("denied"))
        .filter(denied__gte=threshold)
        .order_by()
        .values_list("agent_id", flat=True)
    )
