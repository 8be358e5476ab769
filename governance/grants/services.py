"""Opening, deciding and cancelling grant requests; each change audited in its transaction.

Approving one carries out the grant through the registry's one grant service
(``agents.services.scope_grant`` with ``request_id``), in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import Agent, OrganisationPolicy, Scope, ScopeGrant, Sensitivity
from agents.notices.services import notify
from agents.permissions import can_manage_agent, security_reviewers
from agents.services import scope_grant
from audit.principals import user_principal
from audit.services import record

from .errors import GrantRequestError, GrantRequestForbidden
from .models import GrantRequest
from .permissions import why_not_decide


def request_approves(request_id: int, agent: Agent, scope: Scope) -> bool:
    """The check plugged into the grant service: an approved request for exactly this grant,
    not carried out yet (a request grants once)."""
    return GrantRequest.objects.filter(
        pk=request_id,
        agent=agent,
        scope=scope,
        status=GrantRequest.Status.APPROVED,
        grant__isnull=True,
    ).exists()


def _link(request: GrantRequest) -> str:
    return f"/portal/grant-requests/{request.pk}/"


def _check_expiry(scope: Scope, expires_at: dt.datetime | None, now: dt.datetime) -> None:
    if expires_at is not None and expires_at <= now:
        raise GrantRequestError("expires_at must be in the future")
    if scope.sensitivity != Sensitivity.CRITICAL:
        return
    days = OrganisationPolicy.current().critical_grant_max_days
    if expires_at is None or expires_at > now + dt.timedelta(days=days):
        raise GrantRequestError(
            f"{scope.name} is critical: ask for it with an end date at most {days} days away"
        )


def grant_request_open(
    *,
    agent: Agent,
    scope: Scope,
    justification: str,
    by,
    expires_at: dt.datetime | None = None,
) -> GrantRequest:
    """Ask for a sensitive or critical scope for an agent one manages; reviewers are told."""
    if not can_manage_agent(by, agent):
        raise GrantRequestForbidden(f"you may not ask for scopes for agent {agent.slug}")
    if not scope.needs_request:
        raise GrantRequestError(f"{scope.name} is low: a team manager grants it directly")
    if scope.resource_id is None:
        raise GrantRequestError(f"scope {scope.name} belongs to no resource")
    if not agent.is_active:
        raise GrantRequestError(f"agent {agent.slug} is {agent.status}")
    if not justification.strip():
        raise GrantRequestError("a grant request needs a justification")
    _check_expiry(scope, expires_at, timezone.now())
    if ScopeGrant.objects.active().filter(agent=agent, scope=scope).exists():
        raise GrantRequestError(f"agent {agent.slug} already holds {scope.name}")
    with transaction.atomic():
        try:
            with transaction.atomic():
                request = GrantRequest.objects.create(
                    agent=agent,
                    scope=scope,
                    team_id=agent.owner_team_id,
                    requested_by=by,
                    justification=justification.strip(),
                    expires_at=expires_at,
                )
        except IntegrityError:
            raise GrantRequestError(
                f"{scope.name} is already asked for {agent.slug}: a request is pending"
            ) from None
        record(
            actor=user_principal(by),
            action="grant_request.open",
            outcome="pending",
            resource=agent.principal,
            target_type="grant_request",
            target_id=request.pk,
            reason=request.justification,
            changes={
                "scope": scope.name,
                "sensitivity": scope.sensitivity,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
        for reviewer in security_reviewers().exclude(pk=by.pk):
            notify(
                kind="grant_request.open",
                subject=f"{agent.slug} asks for {scope.name}",
                body=f"{by.get_username()} asks for {scope.name} ({scope.sensitivity}) for "
                f"{agent.slug}: {request.justification}",
                user=reviewer,
                link=_link(request),
                dedupe_key=f"grant-request-{request.pk}-{reviewer.pk}",
            )
    return request


def grant_request_decide(*, request: GrantRequest, approve: bool, by, comment: str) -> GrantRequest:
    """Approve (and so grant) or deny a pending request, with a comment; the team is told."""
    if not comment.strip():
        raise GrantRequestError("a decision needs a comment")
    with transaction.atomic():
        locked = (
            GrantRequest.objects.select_for_update()
            .select_related("agent", "scope", "team")
            .get(pk=request.pk)
        )
        reason = why_not_decide(by, locked)
        if reason:
            raise GrantRequestForbidden(reason)
        if locked.status != GrantRequest.Status.PENDING:
            raise GrantRequestError(f"this request is already {locked.status}")
        now = timezone.now()
        locked.status = GrantRequest.Status.APPROVED if approve else GrantRequest.Status.DENIED
        locked.decided_by, locked.decided_at = by, now
        locked.decision_comment = comment.strip()
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
        record(
            actor=user_principal(by),
            action="grant_request.approve" if approve else "grant_request.deny",
            resource=locked.agent.principal,
            target_type="grant_request",
            target_id=locked.pk,
            reason=locked.decision_comment,
            changes={"scope": locked.scope.name, "status": ["pending", locked.status]},
        )
        if approve:
            if locked.expires_at is not None and locked.expires_at <= now:
                raise GrantRequestError("the requested end date has passed; ask again")
            locked.grant = scope_grant(
                agent=locked.agent,
                scope=locked.scope,
                justification=locked.justification,
                expires_at=locked.expires_at,
                by=by,
                request_id=locked.pk,
            )
            locked.save(update_fields=["grant"])
        verdict = "approved" if approve else "denied"
        notify(
            kind=f"grant_request.{verdict}",
            subject=f"{locked.scope.name} for {locked.agent.slug}: {verdict}",
            body=f"{by.get_username()} {verdict} the request: {locked.decision_comment}",
            team=locked.agent.owner_team,
            link=_link(locked),
            dedupe_key=f"grant-request-{locked.pk}-decided",
        )
    request.status, request.grant = locked.status, locked.grant
    return locked


def grant_or_request(
    *,
    agent: Agent,
    scope: Scope,
    justification: str,
    by,
    expires_at: dt.datetime | None = None,
) -> ScopeGrant | GrantRequest:
    """What an owner's "ask for a scope" does: a low scope is granted, any other requested."""
    if scope.needs_request:
        return grant_request_open(
            agent=agent, scope=scope, justification=justification, by=by, expires_at=expires_at
        )
    return scope_grant(
        agent=agent, scope=scope, justification=justification, by=by, expires_at=expires_at
    )
