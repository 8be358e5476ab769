"""Scope grants: who may grant what, expiry and revocation.

A scope's sensitivity decides who may grant it. A low one: a manager of the agent's team (or a
platform admin), directly. Anything above low only from an approved grant request
(``governance.grants``), decided by a reviewer outside the team. ``agents`` cannot import
``governance``, so the check that a request really is approved is plugged in from the left at
start-up (``set_request_check``), as the revocation epoch is; with nothing plugged in, no
sensitive scope can be granted at all (deny by default).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from audit.principals import SYSTEM, By, actor_principal
from audit.services import record

from ..errors import GrantError, GrantForbidden, GrantStateError
from ..models import Agent, Scope, ScopeGrant
from ..permissions import can_manage_agent
from .lifecycle import _user

# (request id, agent, scope) -> is it an approved request for exactly this grant, not yet used?
RequestCheck = Callable[[int, Agent, Scope], bool]
_request_check: RequestCheck | None = None


def set_request_check(check: RequestCheck | None) -> None:
    """Plug in how an approved grant request is recognised (``governance.grants`` does)."""
    global _request_check
    _request_check = check


def check_direct_grant(*, agent: Agent, scope: Scope, by) -> None:
    """May ``by`` grant ``scope`` to ``agent`` directly? Raises ``GrantForbidden`` if not.

    The portal, API, admin and CLI ask this before offering or making a direct grant.
    """
    user = _user(by)
    if user is not None and not can_manage_agent(user, agent):
        raise GrantForbidden(f"you may not grant scopes to agent {agent.slug}")
    if scope.needs_request:
        raise GrantForbidden(
            f"{scope.name} is {scope.sensitivity}: ask for it with a grant request, which a "
            "reviewer outside the team decides"
        )


@transaction.atomic
def scope_grant(
    *,
    agent: Agent,
    scope: Scope,
    justification: str,
    by: By = None,
    expires_at: dt.datetime | None = None,
    request_id: int | None = None,
) -> ScopeGrant:
    """Grant a scope to an agent, with a justification and an optional expiry.

    ``request_id`` names the approved grant request this grant carries out; without one, only a
    low-sensitivity scope may be granted, by someone who manages the agent.
    """
    if request_id is None:
        check_direct_grant(agent=agent, scope=scope, by=by)
    elif _request_check is None or not _request_check(request_id, agent, scope):
        raise GrantForbidden(f"grant request {request_id} does not approve this grant")
    if not agent.is_active:
        raise GrantError(f"agent {agent.slug} is {agent.status}: grants need an active agent")
    if scope.resource_id is None:
        raise GrantError(f"scope {scope.name} belongs to no resource: it cannot be granted")
    if not justification.strip():
        raise GrantError("a grant needs a justification")
    if expires_at is not None and expires_at <= timezone.now():
        raise GrantError("expires_at must be in the future")
    if ScopeGrant.objects.active().filter(agent=agent, scope=scope).exists():
        raise GrantStateError(f"agent {agent.slug} already holds {scope.name}")
    # A lapsed-but-unswept grant would still hold the one-active-per-scope slot.
    for lapsed in ScopeGrant.objects.lapsed().filter(agent=agent, scope=scope):
        grant_end(grant=lapsed, status=ScopeGrant.Status.EXPIRED, by=SYSTEM, reason="expired")
    grant = ScopeGrant.objects.create(
        agent=agent,
        scope=scope,
        justification=justification,
        expires_at=expires_at,
        granted_by=_user(by),
    )
    changes = {"scope": scope.name, "expires_at": expires_at.isoformat() if expires_at else None}
    if request_id is not None:
        changes["grant_request"] = request_id
    record(
        actor=actor_principal(by),
        action="grant.create",
        resource=agent.principal,
        target_type="scope_grant",
        target_id=grant.pk,
        reason=justification,
        changes=changes,
    )
    return grant


def grant_end(*, grant: ScopeGrant, status: str, by: By, reason: str) -> ScopeGrant:
    grant.status = status
    grant.ended_at = timezone.now()
    grant.ended_by = actor_principal(by)
    grant.save(update_fields=["status", "ended_at", "ended_by"])
    record(
        actor=actor_principal(by),
        action="grant.revoke" if status == ScopeGrant.Status.REVOKED else "grant.expire",
        resource=f"agent:{grant.agent.slug}",
        target_type="scope_grant",
        target_id=grant.pk,
        reason=reason,
        changes={"scope": grant.scope.name, "status": ["active", status]},
    )
    return grant


@transaction.atomic
def scope_revoke(*, grant: ScopeGrant, by: By = None, reason: str = "") -> ScopeGrant:
    """Revoke an active grant now."""
    locked = (
        ScopeGrant.objects.select_for_update().select_related("agent", "scope").get(pk=grant.pk)
    )
    if locked.status != ScopeGrant.Status.ACTIVE:
        raise GrantStateError(f"grant {locked.pk} is already {locked.status}")
    return grant_end(grant=locked, status=ScopeGrant.Status.REVOKED, by=by, reason=reason)


def grants_expire_due(*, now: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Mark every active grant whose ``expires_at`` has passed as expired; safe to re-run."""
    count = 0
    while True:
        with transaction.atomic():
            batch = list(
                ScopeGrant.objects.lapsed(now)
                .select_for_update(skip_locked=True)
                .select_related("agent", "scope")[:batch_size]
            )
            for grant in batch:
                grant_end(
                    grant=grant,
                    status=ScopeGrant.Status.EXPIRED,
                    by=SYSTEM,
                    reason="expires_at passed",
                )
        count += len(batch)
        if len(batch) < batch_size:
            return count
