"""Who may see and decide approval requests: reviewers and admins, and the agent's own team."""

from __future__ import annotations

from django.db.models import QuerySet

from agents.permissions import can_decide, can_manage_agent, restrict

from .models import ApprovalRequest


def approvals_visible_to(user) -> QuerySet[ApprovalRequest]:
    return restrict(
        ApprovalRequest.objects.select_related("agent", "resource", "decided_by"),
        user,
        team_field="agent__owner_team",
    )


def can_decide_approval(user, approval: ApprovalRequest) -> bool:
    """A security reviewer, a platform admin, or a manager of the agent's owning team."""
    return can_decide(user) or can_manage_agent(user, approval.agent)
