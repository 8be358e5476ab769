"""Who may see and decide approval requests: reviewers and admins, and the agent's own team."""

from __future__ import annotations

from django.db.models import QuerySet

from agents.models import OrganisationPolicy, Scope, Sensitivity
from agents.permissions import can_decide, can_manage_agent, is_member_of_team, restrict

from .models import ApprovalRequest


def approvals_visible_to(user) -> QuerySet[ApprovalRequest]:
    return restrict(
        ApprovalRequest.objects.select_related("agent", "resource", "decided_by"),
        user,
        team_field="agent__owner_team",
    )


def separation_applies(approval: ApprovalRequest) -> bool:
    """Does policy keep this request from the agent's own team? For critical scopes, by default
    (an owner approving their own agent's payment is no control at all)."""
    if not OrganisationPolicy.current().approval_separation_of_duties:
        return False
    return Scope.objects.filter(
        resource_id=approval.resource_id,
        action=approval.action,
        sensitivity=Sensitivity.CRITICAL,
    ).exists()


def can_decide_approval(user, approval: ApprovalRequest) -> bool:
    """A security reviewer, a platform admin, or a manager of the agent's owning team; for a
    critical scope (policy permitting) only a reviewer or admin outside that team."""
    if separation_applies(approval):
        return can_decide(user) and not is_member_of_team(user, approval.agent.owner_team_id)
    return can_decide(user) or can_manage_agent(user, approval.agent)
