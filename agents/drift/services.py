"""Recording configuration drift and reviewing it; each one transaction with its audit entry.

Who may review: with ``OrganisationPolicy.config_review_requires_reviewer`` (the default) a
security reviewer or platform admin who is not a member of the agent's owning team (separation
of duties: a team does not wave through its own agent's unknown configuration); without it,
also the team's managers. A string principal (``system:cli``) was authenticated by its caller.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from audit.principals import By, actor_principal, agent_principal
from audit.services import record

from ..errors import InvalidTransition, RegistryError, ReviewForbidden
from ..events import trust_signals_changed
from ..models import Agent, OrganisationPolicy, Team
from ..notices.models import NoticeKind
from ..notices.services import notify
from ..permissions import can_decide, can_manage_agent
from .models import ObservedConfiguration

SEEN_GRANULARITY = dt.timedelta(minutes=1)


def configuration_observed(*, agent: Agent, digest: str, via: str) -> ObservedConfiguration:
    """The agent presented ``digest``, which matches no reviewed configuration of it.

    The first time: the row, one audit entry, a notice to the owning team and a trust
    recomputation. After that only ``last_seen_at`` moves, at most once a minute.
    """
    now = timezone.now()
    with transaction.atomic():
        row, created = ObservedConfiguration.objects.get_or_create(
            agent=agent,
            digest=digest,
            defaults={"first_seen_at": now, "last_seen_at": now, "seen_via": via},
        )
        if not created:
            ObservedConfiguration.objects.filter(
                pk=row.pk, last_seen_at__lt=now - SEEN_GRANULARITY
            ).update(last_seen_at=now)
            return row
        record(
            actor=agent_principal(agent.slug),
            action="agent.config_drift",
            reason="configuration matches no reviewed version",
            resource=agent_principal(agent.slug),
            target_type="observed_configuration",
            target_id=row.pk,
            changes={"digest": digest, "via": via},
        )
        notify(
            kind=NoticeKind.CONFIG_DRIFT,
            subject=f"{agent.slug} runs a configuration nobody reviewed",
            body=(
                f"Agent {agent.slug} presented the configuration digest {digest} ({via}), which "
                "matches no reviewed version of it. Its trust level is held at PENDING at most "
                "until a reviewer reviews this configuration or a reviewed version carries it."
            ),
            team=agent.owner_team,
            link=f"/portal/agents/{agent.slug}/",
            dedupe_key=f"{agent.pk}:{digest}",
        )
        trust_signals_changed(agent.pk)
    return row


def may_review_configuration(user, agent: Agent) -> bool:
    """Whether ``user`` may review the agent's observed configurations (module docstring)."""
    if OrganisationPolicy.current().config_review_requires_reviewer:
        in_team = Team.objects.filter(pk=agent.owner_team_id, group__user=user).exists()
        return can_decide(user) and not in_team
    return can_decide(user) or can_manage_agent(user, agent)


def configuration_review(
    *, observed: ObservedConfiguration, by: By, reason: str
) -> ObservedConfiguration:
    """A person reviewed this configuration: it no longer holds the agent at PENDING."""
    reason = (reason or "").strip()
    if not reason:
        raise RegistryError("a review needs a reason: what was checked")
    with transaction.atomic():
        locked = (
            ObservedConfiguration.objects.select_for_update(of=("self",))
            .select_related("agent")
            .get(pk=observed.pk)
        )
        if (
            by is not None
            and not isinstance(by, str)
            and not may_review_configuration(by, locked.agent)
        ):
            raise ReviewForbidden(
                "a security reviewer or platform admin outside the agent's team reviews "
                "its configurations"
            )
        if locked.reviewed_at is not None:
            raise InvalidTransition("this configuration is already reviewed")
        locked.reviewed_at = timezone.now()
        locked.reviewed_by = None if isinstance(by, str) else by
        locked.review_reason = reason
        locked.save(update_fields=["reviewed_at", "reviewed_by", "review_reason"])
        record(
            actor=actor_principal(by),
            action="agent.config_review",
            reason=reason,
            resource=agent_principal(locked.agent.slug),
            target_type="observed_configuration",
            target_id=locked.pk,
            changes={"digest": locked.digest, "reviewed": [False, True]},
        )
        trust_signals_changed(locked.agent_id)
    observed.reviewed_at, observed.reviewed_by = locked.reviewed_at, locked.reviewed_by
    observed.review_reason = reason
    return locked
