"""Who hears about an approval request: the people who may decide it when it opens, the agent's
team when it is decided.

Called by ``services`` inside the transaction of the change, so each notice and its email
(the notices' outbox) commit or roll back with it. Each event is raised once (``dedupe_key``).
"""

from __future__ import annotations

from agents.notices.models import NoticeKind
from agents.notices.services import notify
from agents.permissions import is_member_of_team, security_reviewers

from .models import ApprovalRequest
from .permissions import separation_applies


def _link(approval: ApprovalRequest) -> str:
    return f"/portal/approvals/{approval.pk}/"


def approval_opened_notify(approval: ApprovalRequest) -> None:
    """Tell whoever may decide the new request (``permissions.can_decide_approval``): the agent's
    team, unless policy keeps a critical scope from it, and the security reviewers outside it
    (a reviewer in the team hears through the team, or may not decide)."""
    agent, resource = approval.agent, approval.resource
    team = agent.owner_team
    separate = separation_applies(approval)
    cost = f" (cost {approval.cost})" if approval.cost else ""
    run = f" in run {approval.workflow_run}" if approval.workflow_run else ""
    who = (
        "A security reviewer or platform admin outside the team decides it (a critical scope)."
        if separate
        else "The team's managers, security reviewers and platform admins may decide it."
    )
    body = (
        f"{agent.principal} of team {team.name}, trust {approval.trust_level}, asks to "
        f"{approval.action} on {resource.name}{cost}{run}. "
        f"Why it needs a person: {', '.join(approval.reasons) or 'policy'}. {who} "
        f"It lapses at {approval.expires_at:%Y-%m-%d %H:%M} UTC if nobody does."
    )
    fields = {
        "kind": NoticeKind.APPROVAL_WAITING,
        "subject": f"{agent.slug} asks to {approval.action} on {resource.slug}",
        "body": body,
        "link": _link(approval),
    }
    members = set(team.members.values_list("pk", flat=True))
    if not separate:
        notify(team=team, dedupe_key=f"approval-{approval.pk}", **fields)
    for reviewer in security_reviewers():
        heard = reviewer.pk in members and not separate
        barred = separate and is_member_of_team(reviewer, team.pk)
        if not (heard or barred):
            notify(user=reviewer, dedupe_key=f"approval-{approval.pk}-{reviewer.pk}", **fields)


def approval_decided_notify(approval: ApprovalRequest) -> None:
    """Tell the agent's team (its owners: the agent itself polls) how its request was decided."""
    agent = approval.agent
    approved = approval.status == ApprovalRequest.Status.APPROVED
    verb = "approved" if approved else "denied"
    reason = approval.decision_reason or "No reason given."
    notify(
        kind=NoticeKind.APPROVAL_APPROVED if approved else NoticeKind.APPROVAL_DENIED,
        subject=f"{agent.slug} {approval.action} on {approval.resource.slug}: {verb}",
        body=(
            f"{approval.decided_by.get_username()} {verb} it: {reason} The answer holds for "
            f"identical requests until {approval.valid_until:%Y-%m-%d %H:%M} UTC."
        ),
        team=agent.owner_team,
        link=_link(approval),
        dedupe_key=f"approval-{approval.pk}-decided",
    )
