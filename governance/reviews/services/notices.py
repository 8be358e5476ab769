"""What access reviews tell people, through the one notice service (``agents.notices``).

Called inside the caller's transaction: a notice and its outbox row commit with the change
that raised it, and e-mail leaves on commit. Each has a dedupe key, so a re-run of the beat
task tells nobody twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Q

from agents.models import Team
from agents.notices.services import notify
from agents.permissions import PLATFORM_ADMIN, security_reviewers

from ..models import Campaign


def reviewers_of(campaign: Campaign) -> list:
    """The campaign's named reviewers, or every active security reviewer if it names none."""
    named = list(campaign.reviewers.filter(is_active=True))
    if named:
        return named
    return list(security_reviewers())


def platform_admins() -> list:
    return list(
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=PLATFORM_ADMIN))
        .distinct()
    )


def _link(campaign: Campaign) -> str:
    return f"/portal/reviews/campaigns/{campaign.pk}/"


def campaign_opened(campaign: Campaign, *, items: int) -> None:
    if not items:
        return
    for user in reviewers_of(campaign):
        notify(
            kind="review.assigned",
            subject=f"Access review to do: {campaign.name}",
            body=f"{items} agents to review by {campaign.due_at:%Y-%m-%d %H:%M} UTC.",
            user=user,
            link=_link(campaign),
            dedupe_key=f"review:{campaign.pk}:assigned:{user.pk}",
        )


def remind(campaign: Campaign, *, step: int, items: int, teams: Iterable[Team]) -> None:
    """Reviewers (what awaits them) and the owning teams (they may answer)."""
    for user in reviewers_of(campaign):
        notify(
            kind="review.reminder",
            subject=f"Reminder: {items} agents await your review in {campaign.name}",
            body=f"Due {campaign.due_at:%Y-%m-%d %H:%M} UTC.",
            user=user,
            link=_link(campaign),
            dedupe_key=f"review:{campaign.pk}:remind:{step}:{user.pk}",
        )
    for team in teams:
        notify(
            kind="review.reminder",
            subject=f"Your agents are under access review: {campaign.name}",
            body="Answer with a justification for the access they need; reviewers decide.",
            team=team,
            link=_link(campaign),
            dedupe_key=f"review:{campaign.pk}:remind:{step}:team:{team.pk}",
        )


def escalate(campaign: Campaign, *, step: int, items: int) -> None:
    for user in platform_admins():
        notify(
            kind="review.overdue",
            subject=f"Access review overdue: {campaign.name}",
            body=f"{items} agents are still undecided; it was due "
            f"{campaign.due_at:%Y-%m-%d %H:%M} UTC.",
            user=user,
            link=_link(campaign),
            dedupe_key=f"review:{campaign.pk}:escalate:{step}:{user.pk}",
        )


def quarantined(campaign: Campaign, *, agent_slug: str, team: Team, credentials: int) -> None:
    notify(
        kind="review.quarantine",
        subject=f"{agent_slug} quarantined: its access review is overdue",
        body=f"{credentials} credentials are suspended (grants kept) until a reviewer signs "
        f"the item off in {campaign.name}.",
        team=team,
        link=_link(campaign),
        dedupe_key=f"review:{campaign.pk}:quarantine:{agent_slug}",
    )
