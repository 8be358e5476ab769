"""Who sees and decides grant requests.

The agent's team and everyone who sees everything see them; only a security reviewer or a
platform admin who is not a member of the requesting team, and did not ask, decides one.
"""

from __future__ import annotations

from django.db.models import QuerySet

from agents.permissions import can_decide, is_member_of_team, restrict

from .models import GrantRequest


def grant_requests_visible_to(user) -> QuerySet[GrantRequest]:
    return restrict(
        GrantRequest.objects.select_related("agent", "scope", "team", "requested_by", "decided_by"),
        user,
        team_field="agent__owner_team",
    )


def why_not_decide(user, request: GrantRequest) -> str:
    """Empty when ``user`` may decide ``request``; otherwise the reason, in words."""
    if not can_decide(user):
        return "only security reviewers and platform admins decide grant requests"
    if request.requested_by_id == user.pk:
        return "nobody decides their own request"
    if is_member_of_team(user, request.team_id) or is_member_of_team(
        user, request.agent.owner_team_id
    ):
        return "a member of the requesting team may not decide its request"
    return ""


def can_decide_grant_request(user, request: GrantRequest) -> bool:
    return not why_not_decide(user, request)
