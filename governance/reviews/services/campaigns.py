"""Opening campaigns (by hand, on the schedule, micro-reviews on events) and closing them."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents.models import Agent, OrganisationPolicy, Sensitivity, Team
from agents.permissions import is_platform_admin, is_reviewer
from audit.principals import SYSTEM, By, actor_principal
from audit.services import record

from ..build import Rules, build_items, covered_agents
from ..errors import ReviewForbidden, ReviewInvalid
from ..models import Campaign, ReviewItem, ReviewPolicy
from ..permissions import can_open_campaign
from . import notices

log = logging.getLogger(__name__)

MICRO_TRIGGERS = {
    "team_inactive": "its team has no active member left",
    "untrusted": "its trust level dropped to untrusted",
    "critical_grant": "a critical scope was granted",
    "dormant": "it has been dormant past policy",
}


def _rules(now: dt.datetime, policy: ReviewPolicy) -> Rules:
    return Rules(
        now=now,
        unused_days=policy.unused_days,
        credential_max_age_days=OrganisationPolicy.current().credential_max_age_days,
    )


def _check(
    *, coverage: str, team: Team | None, min_sensitivity: str, reviewers: list, due_at, now
) -> None:
    if coverage not in Campaign.Coverage.values or coverage == Campaign.Coverage.AGENT:
        raise ReviewInvalid("coverage must be all, team or sensitivity", field="coverage")
    if coverage == Campaign.Coverage.TEAM and team is None:
        raise ReviewInvalid("a team campaign needs its team", field="team")
    if coverage == Campaign.Coverage.SENSITIVITY and min_sensitivity not in Sensitivity.values:
        raise ReviewInvalid(
            f"min_sensitivity must be one of {', '.join(Sensitivity.values)}",
            field="min_sensitivity",
        )
    if due_at is not None and due_at <= now:
        raise ReviewInvalid("the due date must be in the future", field="due_at")
    for user in reviewers:
        if not (is_reviewer(user) or is_platform_admin(user)):
            raise ReviewInvalid(
                f"{user.get_username()} is not a security reviewer or platform admin",
                field="reviewers",
            )


@transaction.atomic
def review_campaign_open(
    *,
    by: By,
    coverage: str = Campaign.Coverage.ALL,
    name: str = "",
    team: Team | None = None,
    min_sensitivity: str = "",
    reviewers: Iterable[Any] = (),
    due_at: dt.datetime | None = None,
    kind: str = Campaign.Kind.MANUAL,
    now: dt.datetime | None = None,
) -> Campaign:
    """Open a campaign over all agents, one team, or grants at/above a sensitivity.

    One transaction: the campaign, every item and line (in bulk) and one audit entry; a
    campaign is never seen half-built.
    """
    if not isinstance(by, str) and not can_open_campaign(by):
        raise ReviewForbidden("only security reviewers and platform admins open campaigns")
    now = now or timezone.now()
    policy = ReviewPolicy.current()
    reviewers = list(reviewers)
    _check(
        coverage=coverage,
        team=team,
        min_sensitivity=min_sensitivity,
        reviewers=reviewers,
        due_at=due_at,
        now=now,
    )
    due_at = due_at or now + dt.timedelta(days=policy.due_days)
    if not name:
        target = {"team": f" of {team}", "sensitivity": f" ({min_sensitivity} and above)"}
        name = f"Access review {now:%Y-%m-%d}{target.get(coverage, '')}"
    campaign = Campaign.objects.create(
        name=name[:200],
        kind=kind,
        coverage=coverage,
        team=team if coverage == Campaign.Coverage.TEAM else None,
        min_sensitivity=min_sensitivity if coverage == Campaign.Coverage.SENSITIVITY else "",
        due_at=due_at,
        created_by=actor_principal(by),
    )
    campaign.reviewers.set(reviewers)
    items, lines = build_items(campaign, covered_agents(campaign), _rules(now, policy))
    record(
        actor=actor_principal(by),
        action="review.campaign.open",
        resource=f"review:{campaign.pk}",
        target_type="review_campaign",
        target_id=campaign.pk,
        changes={
            "name": campaign.name,
            "kind": kind,
            "coverage": coverage,
            "team": team.slug if team else None,
            "min_sensitivity": min_sensitivity or None,
            "due_at": due_at.isoformat(),
            "reviewers": sorted(u.get_username() for u in reviewers),
            "items": items,
            "lines": lines,
        },
    )
    notices.campaign_opened(campaign, items=items)
    return campaign


@transaction.atomic
def review_campaign_close(*, campaign: Campaign, by: By, force: bool = False) -> Campaign:
    """Close a campaign whose items are all decided (``force``: close it anyway, by hand)."""
    if not isinstance(by, str) and not can_open_campaign(by):
        raise ReviewForbidden("only security reviewers and platform admins close campaigns")
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.state == Campaign.State.CLOSED:
        return locked
    pending = locked.items.filter(state=ReviewItem.State.PENDING).count()
    if pending and not force:
        raise ReviewInvalid(f"{pending} items still await a decision")
    locked.state, locked.closed_at = Campaign.State.CLOSED, timezone.now()
    locked.save(update_fields=["state", "closed_at"])
    record(
        actor=actor_principal(by),
        action="review.campaign.close",
        resource=f"review:{locked.pk}",
        target_type="review_campaign",
        target_id=locked.pk,
        changes={"state": ["open", "closed"], "pending_items": pending},
    )
    campaign.state, campaign.closed_at = locked.state, locked.closed_at
    return locked


def close_if_done(campaign: Campaign) -> None:
    """Close the campaign when its last item is decided (inside the deciding transaction)."""
    if not ReviewItem.objects.filter(campaign=campaign, state=ReviewItem.State.PENDING).exists():
        review_campaign_close(campaign=campaign, by=SYSTEM)


def reviews_schedule_due(*, now: dt.datetime | None = None) -> Campaign | None:
    """Open the scheduled all-agents campaign when the policy says one is due; idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        policy = ReviewPolicy.objects.select_for_update().get(pk=ReviewPolicy.current().pk)
        if not policy.schedule_enabled:
            return None
        last = policy.last_scheduled_at
        if last is not None and now < last + dt.timedelta(days=policy.every_days):
            return None
        campaign = review_campaign_open(
            by=SYSTEM,
            kind=Campaign.Kind.SCHEDULED,
            name=f"Scheduled access review {now:%Y-%m-%d}",
            now=now,
        )
        policy.last_scheduled_at = now
        policy.save(update_fields=["last_scheduled_at"])
        return campaign


@transaction.atomic
def review_micro_open(
    *, agent: Agent, trigger: str, by: By = SYSTEM, now: dt.datetime | None = None
) -> ReviewItem | None:
    """A review of one agent, opened by an event; at most one pending per agent and trigger.

    None when the agent holds nothing to review (or is decommissioned).
    """
    if trigger not in MICRO_TRIGGERS:
        raise ReviewInvalid(f"trigger must be one of {', '.join(MICRO_TRIGGERS)}", field="trigger")
    now = now or timezone.now()
    # Lock the agent: two events at once open one micro-review, not two.
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    existing = ReviewItem.objects.filter(
        agent=agent,
        state=ReviewItem.State.PENDING,
        campaign__kind=Campaign.Kind.MICRO,
        campaign__trigger=trigger,
    ).first()
    if existing is not None:
        return existing
    policy = ReviewPolicy.current()
    campaign = Campaign.objects.create(
        name=f"Micro-review of {agent.slug}: {MICRO_TRIGGERS[trigger]}"[:200],
        kind=Campaign.Kind.MICRO,
        coverage=Campaign.Coverage.AGENT,
        trigger=trigger,
        due_at=now + dt.timedelta(days=policy.due_days),
        created_by=actor_principal(by),
    )
    items, lines = build_items(campaign, covered_agents(campaign, [agent.pk]), _rules(now, policy))
    if not items:
        campaign.delete()  # created in this transaction: nothing of it was ever seen
        return None
    record(
        actor=actor_principal(by),
        action="review.campaign.open",
        resource=agent.principal,
        target_type="review_campaign",
        target_id=campaign.pk,
        reason=MICRO_TRIGGERS[trigger],
        changes={"kind": "micro", "trigger": trigger, "agent": agent.slug, "lines": lines},
    )
    notices.campaign_opened(campaign, items=items)
    return campaign.items.get()
