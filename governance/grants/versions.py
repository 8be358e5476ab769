"""Deciding a version's scope review: the reviewer's approval grants the added scopes.

The agents app records the difference and ends the review (``agent_version_settle``: current
version, revocations); this module holds who may decide and the grants, each carried out
through the one grant service by an approved ``GrantRequest`` that names the version, so every
scope above low still reaches the agent only through a decided request.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from agents.models import AgentVersion, Scope, ScopeGrant
from agents.services import scope_grant
from agents.services.versions import agent_version_settle

from .errors import GrantRequestError, GrantRequestForbidden
from .models import GrantRequest
from .permissions import why_not_decide_for


def scope_review_decide(*, version: AgentVersion, approve: bool, by, comment: str) -> AgentVersion:
    """Approve (grant the added scopes, make the version current, revoke the dropped ones) or
    deny a pending scope review; a security reviewer or admin outside the team, with a comment."""
    if not comment.strip():
        raise GrantRequestError("a decision needs a comment")
    with transaction.atomic():
        locked = (
            AgentVersion.objects.select_for_update()
            .select_related("agent", "agent__owner_team")
            .get(pk=version.pk)
        )
        agent = locked.agent
        refusal = why_not_decide_for(by, team_ids=[agent.owner_team_id])
        if refusal:
            raise GrantRequestForbidden(refusal)
        if locked.scope_review != AgentVersion.ScopeReview.PENDING:
            raise GrantRequestError(f"version {locked.label} has no pending scope review")
        if approve:
            held = set(
                ScopeGrant.objects.active()
                .filter(agent=agent, scope__name__in=locked.scopes_added)
                .values_list("scope__name", flat=True)
            )
            for scope in Scope.objects.filter(name__in=locked.scopes_added).exclude(name__in=held):
                request = GrantRequest.objects.create(
                    agent=agent,
                    scope=scope,
                    team_id=agent.owner_team_id,
                    justification=f"version {locked.label} asks for it",
                    status=GrantRequest.Status.APPROVED,
                    decided_by=by,
                    decided_at=timezone.now(),
                    decision_comment=comment.strip(),
                )
                request.grant = scope_grant(
                    agent=agent,
                    scope=scope,
                    justification=request.justification,
                    by=by,
                    request_id=request.pk,
                )
                request.save(update_fields=["grant"])
        return agent_version_settle(version=locked, approve=approve, by=by, comment=comment.strip())
