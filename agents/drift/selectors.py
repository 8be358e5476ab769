"""Reads of observed configurations: for the token path, the trust engine and the screens."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..models import AgentVersion
from ..permissions import restrict
from .models import ObservedConfiguration


def _reviewed_version(agent_ref, digest_ref) -> QuerySet[AgentVersion]:
    return AgentVersion.objects.filter(agent=agent_ref, config_digest=digest_ref, reviewed=True)


def configuration_known(agent_id: int, digest: str) -> bool:
    """Whether ``digest`` is a reviewed version of the agent or a reviewed observed
    configuration of it: an EXISTS or two. Once true it stays true (reviews are never withdrawn)."""
    return (
        _reviewed_version(agent_id, digest).exists()
        or ObservedConfiguration.objects.filter(
            agent_id=agent_id, digest=digest, reviewed_at__isnull=False
        ).exists()
    )


def unreviewed(queryset: QuerySet[ObservedConfiguration] | None = None):
    """Observed configurations nobody reviewed and no reviewed version has caught up with."""
    queryset = ObservedConfiguration.objects.all() if queryset is None else queryset
    caught_up = _reviewed_version(OuterRef("agent_id"), OuterRef("digest"))
    return queryset.filter(reviewed_at__isnull=True).exclude(Exists(caught_up))


def unreviewed_configurations(agent_ids: Iterable[int]) -> dict[int, list[ObservedConfiguration]]:
    """For the trust engine: each agent's unreviewed configurations, oldest first; agents
    without any are absent. One query, whatever the number of agents."""
    out: dict[int, list[ObservedConfiguration]] = defaultdict(list)
    rows = unreviewed(ObservedConfiguration.objects.filter(agent_id__in=list(agent_ids)))
    for row in rows.order_by("agent_id", "first_seen_at", "pk"):
        out[row.agent_id].append(row)
    return dict(out)


def configurations_visible(user, *, reviewed: bool | None = None) -> QuerySet:
    """The observed configurations of the agents ``user`` may see (one query with its list)."""
    rows = restrict(
        ObservedConfiguration.objects.select_related("agent", "reviewed_by"),
        user,
        team_field="agent__owner_team",
    )
    if reviewed is True:
        rows = rows.filter(~Q(reviewed_at=None))
    elif reviewed is False:
        rows = unreviewed(rows)
    return rows


def with_coverage(queryset: QuerySet[ObservedConfiguration]) -> QuerySet[ObservedConfiguration]:
    """Each row with ``covered``: a reviewed version of its agent carries the digest, so the
    row holds the agent at nothing any more (a subquery, not a query per row)."""
    return queryset.annotate(
        covered=Exists(_reviewed_version(OuterRef("agent_id"), OuterRef("digest")))
    )


def agent_configurations(agent_id: int, *, limit: int) -> list[ObservedConfiguration]:
    """The agent page's list: the ``limit`` most recently seen, with ``covered``, plus one
    more row when there are more (the page says so). One query."""
    rows = ObservedConfiguration.objects.filter(agent_id=agent_id).select_related("reviewed_by")
    return list(with_coverage(rows).order_by("-last_seen_at", "-pk")[: limit + 1])


def awaiting_review(user, *, limit: int) -> list[ObservedConfiguration]:
    """For the reviewers' workbench: unreviewed configurations of agents ``user`` may see,
    oldest first, at most ``limit`` plus one (to tell that there are more). One query."""
    rows = unreviewed(configurations_visible(user).select_related("agent__owner_team"))
    return list(rows.order_by("first_seen_at", "pk")[: limit + 1])


def configurations_for_queue(user, *, reviewed: bool | None) -> QuerySet[ObservedConfiguration]:
    """The queue page's rows: the configurations of agents ``user`` sees, with ``covered``;
    those awaiting review (``reviewed=False``) oldest first, the others last seen first."""
    rows = with_coverage(
        configurations_visible(user, reviewed=reviewed).select_related("agent__owner_team")
    )
    order = ("first_seen_at", "pk") if reviewed is False else ("-last_seen_at", "-pk")
    return rows.order_by(*order)
