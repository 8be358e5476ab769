"""Non-response: the policy's ladder by risk, run by beat, idempotent.

Each pending item climbs its risk's ladder (``ReviewPolicy.ladder``: days after the due date
and a step): reminders to the reviewers and the owning team, escalation to platform admins,
for sensitive and critical access a reversible quarantine (the agent's live credentials
suspended, grants kept), and finally the policy's outcome (no change, apply the
recommendations, or revoke everything reviewed). ``ReviewItem.ladder_step`` counts the steps
done and moves in the same transaction as each step, so a re-run, or a worker that died
mid-way, repeats nothing; notices carry dedupe keys as well.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from audit.principals import SYSTEM
from audit.services import record
from credentials import services as creds
from credentials.models import Credential

from ..errors import ReviewError
from ..models import Campaign, Decision, Outcome, ReviewItem, ReviewPolicy
from . import notices
from .campaigns import close_if_done
from .decide import apply_item
from .outcome import tell_trust

log = logging.getLogger(__name__)


def _due_steps(item: ReviewItem, policy: ReviewPolicy, now: dt.datetime) -> list[tuple[int, str]]:
    steps = policy.steps_for(item.risk)
    due = item.campaign.due_at
    return [
        (index, step)
        for index, (days, step) in enumerate(steps)
        if index >= item.ladder_step and due + dt.timedelta(days=days) <= now
    ]


def _quarantine(item: ReviewItem) -> int:
    reason = f"access review {item.campaign_id}, item {item.pk}: overdue, quarantined"
    suspended = []
    for cred in Credential.objects.filter(agent=item.agent, status__in=Credential.USABLE):
        creds.credential_suspend(credential=cred, by=SYSTEM, reason=reason)
        suspended.append(cred.pk)
    item.quarantined_credentials = sorted({*item.quarantined_credentials, *suspended})
    item.quarantined_at = timezone.now()
    record(
        actor=SYSTEM,
        action="review.item.quarantine",
        resource=item.agent.principal,
        target_type="review_item",
        target_id=item.pk,
        reason=reason,
        changes={"campaign": item.campaign_id, "suspended_credentials": suspended},
    )
    return len(suspended)


def _outcome(item: ReviewItem, policy: ReviewPolicy, now: dt.datetime) -> None:
    outcome = policy.outcome_for(item.risk)
    choose = {
        Outcome.NO_CHANGE: lambda line: Decision.KEEP,
        Outcome.APPLY: lambda line: line.recommendation,
        Outcome.REVOKE: lambda line: Decision.REVOKE,
    }[outcome]
    item.outcome = outcome
    results = apply_item(
        item,
        by=SYSTEM,
        how=f"no response, policy outcome {outcome}",
        state=ReviewItem.State.CLOSED_BY_POLICY,
        choose=choose,
        now=now,
    )
    record(
        actor=SYSTEM,
        action="review.item.close_by_policy",
        resource=item.agent.principal,
        target_type="review_item",
        target_id=item.pk,
        reason=f"access review {item.campaign_id} ({item.campaign.name}), item {item.pk}: "
        f"nobody signed it off; policy outcome for {item.risk} access: {outcome}",
        changes={"campaign": item.campaign_id, "outcome": outcome, "lines": results},
    )
    tell_trust(item, certified=False, at=now)


def reviews_ladder_run(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every step now due of every pending item; returns how many of each ran."""
    now = now or timezone.now()
    policy = ReviewPolicy.current()
    earliest = min((days for steps in policy.ladder.values() for days, _ in steps), default=0)
    pending = (
        ReviewItem.objects.filter(
            state=ReviewItem.State.PENDING,
            campaign__state=Campaign.State.OPEN,
            campaign__due_at__lte=now - dt.timedelta(days=earliest),
        )
        .select_related("campaign", "agent__owner_team")
        .order_by("campaign_id", "pk")
    )
    counts: dict[str, int] = defaultdict(int)
    told: set[tuple] = set()
    for item in pending.iterator(chunk_size=500):
        steps = _due_steps(item, policy, now)
        if not steps:
            continue
        try:
            with transaction.atomic():
                _climb(item, steps, policy, now, counts, told)
        except ReviewError as exc:
            # This item's step rolled back and runs again next time; the others go on.
            log.warning("review item %s: ladder step failed: %s", item.pk, exc)
            counts["failed"] += 1
    return dict(counts)


def _climb(item, steps, policy, now, counts, told: set[tuple]) -> None:
    locked = (
        ReviewItem.objects.select_for_update(of=("self",))
        .select_related("campaign", "agent__owner_team")
        .get(pk=item.pk)
    )
    if not locked.is_pending or locked.ladder_step != item.ladder_step:
        return  # decided or climbed by someone else meanwhile
    campaign = locked.campaign

    def pending() -> int:  # counted only when a notice goes out
        return campaign.items.filter(state=ReviewItem.State.PENDING).count()

    # Several overdue reminders at once (a beat that was down) make one notice, not many.
    last_remind = max((i for i, s in steps if s == "remind"), default=None)
    for index, step in steps:
        if step == "remind" and index != last_remind:
            continue
        # One notice per campaign and step (and team) per run; dedupe keys cover re-runs.
        if step == "remind":
            team = locked.agent.owner_team
            if (campaign.pk, index, team.pk) not in told:
                told.add((campaign.pk, index, team.pk))
                notices.remind(campaign, step=index, items=pending(), teams=[team])
        elif step == "escalate" and (campaign.pk, index) not in told:
            told.add((campaign.pk, index))
            notices.escalate(campaign, step=index, items=pending())
        elif step == "quarantine":
            suspended = _quarantine(locked)
            notices.quarantined(
                campaign,
                agent_slug=locked.agent.slug,
                team=locked.agent.owner_team,
                credentials=suspended,
            )
        elif step == "outcome":
            locked.ladder_step = index + 1
            _outcome(locked, policy, now)
            counts[step] += 1
            close_if_done(campaign)
            return
        counts[step] += 1
    locked.ladder_step = steps[-1][0] + 1
    locked.save(update_fields=["ladder_step", "quarantined_credentials", "quarantined_at"])
