"""Who sees and who decides access reviews. Deny by default.

* Security reviewers and platform admins see every campaign and item; team members see the
  items of their teams' agents (and the campaigns holding them). Anything else is a 404.
* Only reviewers and platform admins open campaigns and decide items; where a campaign names
  its reviewers, only they (and platform admins) decide its items.
* Separation of duties: nobody decides or certifies an agent of a team they belong to.
* The agent's owning team answers its item with a justification; it decides nothing.
"""

from __future__ import annotations

from django.db.models import QuerySet

from agents.permissions import can_decide, can_manage_agent, is_platform_admin, restrict

from .models import Campaign, ReviewItem


def items_visible_to(user) -> QuerySet[ReviewItem]:
    return restrict(
        ReviewItem.objects.select_related("campaign", "agent__owner_team", "decided_by"),
        user,
        team_field="agent__owner_team",
    )


def campaigns_visible_to(user) -> QuerySet[Campaign]:
    if can_decide(user):
        return Campaign.objects.all()
    return Campaign.objects.filter(pk__in=items_visible_to(user).values("campaign_id"))


def belongs_to_team(user, team_id: int) -> bool:
    """Is the user a member of the team (its group), the test of separation of duties?"""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.groups.filter(team__pk=team_id).exists()


def decide_refusal(user, item: ReviewItem) -> str | None:
    """Why ``user`` may not decide ``item`` (None: they may)."""
    if not can_decide(user):
        return "only security reviewers and platform admins decide access reviews"
    campaign = item.campaign
    assigned = campaign.reviewers.exists()
    if (
        assigned
        and not is_platform_admin(user)
        and not campaign.reviewers.filter(pk=user.pk).exists()
    ):
        return "you are not a reviewer of this campaign"
    if belongs_to_team(user, item.agent.owner_team_id):
        return (
            f"you belong to team {item.agent.owner_team.slug}, which owns {item.agent.slug}: "
            "someone outside the team must certify it (separation of duties)"
        )
    return None


def can_answer(user, item: ReviewItem) -> bool:
    """The agent's owning team answers its item with a justification."""
    return can_manage_agent(user, item.agent)


def can_open_campaign(user) -> bool:
    return can_decide(user)
