"""Who sees and decides grant requests.

The agent's team and everyone who sees everything see them; only a security reviewer or a
platform admin who is not a member of the requesting team, and did not ask, decides one.
"""

from __future__ import annotations

from django.db.models import QuerySet

from agents.models import AgentVersion
from agents.permissions import can_decide, is_member_of_team, restrict

from .models import GrantRequest


def grant_requests_visible_to(user) -> QuerySet[GrantRequest]:
    return restrict(
        GrantRequest.objects.select_related("agent", "scope", "team", "requested_by", "decided_by"),
        user,
        team_field="agent__owner_team",
    )


def why_not_decide_for(user, *, team_ids, asked_by_id: int | None = None) -> str:
    """Empty when ``user`` may decide for the teams ``team_ids`` (and did not ask); otherwise
    the reason, in words. Grant requests and version scope reviews share it."""
    if not can_decide(user):
        return "only security reviewers and platform admins decide grant requests"
    if asked_by_id is not None and asked_by_id == user.pk:
        return "nobody decides their own request"
    if any(is_member_of_team(user, team_id) for team_id in set(team_ids)):
        return "a member of the requesting team may not decide its request"
    return ""


def why_not_decide(user, request: GrantRequest) -> str:
    """Empty when ``user`` may decide ``request``; otherwise the reason, in words."""
    return why_not_decide_for(
        user,
        team_ids=[request.team_id, request.agent.owner_team_id],
        asked_by_id=request.requested_by_id,
    )


def scope_reviews_visible_to(user) -> QuerySet[AgentVersion]:
    """Versions that asked for different access, for those who see their agent."""
    return restrict(
        AgentVersion.objects.exclude(scope_review=AgentVersion.ScopeReview.NONE).select_related(
            "agent", "agent__owner_team", "reviewed_by"
        ),
        user,
        team_field="agent__owner_team",
    )


def can_decide_grant_request(user, request: GrantRequest) -> bool:
    return not why_not_decide(user, request)
