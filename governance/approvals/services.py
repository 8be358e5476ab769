"""Opening, deciding and expiring approval requests; each change audited in its transaction, and
the people concerned told in it (``notices``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import Agent, OrganisationPolicy, Resource
from audit.principals import SYSTEM, user_principal
from audit.services import record

from .errors import ApprovalError, ApprovalForbidden
from .models import ApprovalRequest
from .notices import approval_decided_notify, approval_opened_notify
from .permissions import can_decide_approval


def approval_fingerprint(
    *,
    agent_slug: str,
    resource_slug: str,
    action: str,
    cost: Decimal,
    workflow_run: str,
    on_behalf_of: Sequence[str],
) -> str:
    """What makes two requests "identical" for an approval: every field a human judged."""
    canonical = json.dumps(
        [
            agent_slug,
            resource_slug,
            action,
            str(cost.normalize()),
            workflow_run,
            list(on_behalf_of),
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def approval_covering(*, fingerprint: str, now: dt.datetime) -> ApprovalRequest | None:
    """The latest human decision on an identical request that is still within its window."""
    return (
        ApprovalRequest.objects.filter(
            fingerprint=fingerprint,
            status__in=[ApprovalRequest.Status.APPROVED, ApprovalRequest.Status.DENIED],
            valid_until__gt=now,
        )
        .order_by("-decided_at")
        .first()
    )


def _expire(approval: ApprovalRequest) -> None:
    approval.status = ApprovalRequest.Status.EXPIRED
    approval.save(update_fields=["status"])
    record(
        actor=SYSTEM,
        action="approval.expire",
        resource=approval.resource.slug,
        target_type="approval_request",
        target_id=approval.pk,
        reason="nobody decided before expires_at",
        changes={"status": ["pending", "expired"]},
    )


def approval_request_open(
    *,
    agent: Agent,
    resource: Resource,
    connection_id: int | None,
    action: str,
    cost: Decimal,
    workflow_run: str = "",
    on_behalf_of: Sequence[str] = (),
    token_jti: str = "",
    reasons: Sequence[str] = (),
    now: dt.datetime | None = None,
    policy: Any = None,
) -> ApprovalRequest:
    """The pending request for this exact action, opened (and audited) if there is none.

    ``policy`` is anything with ``approval_expiry_hours`` (the decision point passes the row
    it already read); the organisation policy is read when it is omitted.
    """
    now = now or timezone.now()
    policy = policy or OrganisationPolicy.current()
    fingerprint = approval_fingerprint(
        agent_slug=agent.slug,
        resource_slug=resource.slug,
        action=action,
        cost=cost,
        workflow_run=workflow_run,
        on_behalf_of=on_behalf_of,
    )
    with transaction.atomic():
        existing = (
            ApprovalRequest.objects.select_for_update()
            .select_related("resource")
            .filter(fingerprint=fingerprint, status=ApprovalRequest.Status.PENDING)
            .first()
        )
        if existing is not None and existing.expires_at > now:
            return existing
        if existing is not None:
            _expire(existing)
        try:
            with transaction.atomic():
                approval = ApprovalRequest.objects.create(
                    fingerprint=fingerprint,
                    agent=agent,
                    resource=resource,
                    connection_id=connection_id,
                    action=action,
                    cost=cost,
                    workflow_run=workflow_run,
                    on_behalf_of=list(on_behalf_of),
                    token_jti=token_jti,
                    reasons=list(reasons),
                    trust_score=agent.trust_score,
                    trust_level=agent.trust_level,
                    expires_at=now + dt.timedelta(hours=policy.approval_expiry_hours),
                )
        except IntegrityError:
            # Another process opened the same request a moment ago: share it.
            return ApprovalRequest.objects.get(
                fingerprint=fingerprint, status=ApprovalRequest.Status.PENDING
            )
        record(
            actor=agent.principal,
            action="approval.request",
            outcome="pending",
            resource=resource.slug,
            target_type="approval_request",
            target_id=approval.pk,
            on_behalf_of=on_behalf_of,
            workflow_run=workflow_run,
            token_jti=token_jti,
            reason=f"{agent.principal} asks to {action} on {resource.slug}",
            changes={"action": action, "cost": str(cost), "reasons": list(reasons)},
        )
        approval_opened_notify(approval)
        return approval


def approval_decide(
    *, approval: ApprovalRequest, approve: bool, by, reason: str = ""
) -> ApprovalRequest:
    """Approve or deny a pending request; the answer covers identical requests for a window."""
    with transaction.atomic():
        locked = (
            ApprovalRequest.objects.select_for_update()
            .select_related("agent", "resource")
            .get(pk=approval.pk)
        )
        if not can_decide_approval(by, locked):
            raise ApprovalForbidden("you may not decide this request")
        now = timezone.now()
        lapsed = locked.status == ApprovalRequest.Status.PENDING and locked.expires_at <= now
        if lapsed:
            _expire(locked)  # committed: the request really has expired
        elif locked.status != ApprovalRequest.Status.PENDING:
            raise ApprovalError(f"this request is already {locked.status}")
        else:
            policy = OrganisationPolicy.current()
            locked.status = (
                ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.DENIED
            )
            locked.decided_by = by
            locked.decided_at = now
            locked.decision_reason = reason.strip()
            locked.valid_until = now + dt.timedelta(minutes=policy.approval_window_minutes)
            locked.save(
                update_fields=[
                    "status",
                    "decided_by",
                    "decided_at",
                    "decision_reason",
                    "valid_until",
                ]
            )
            record(
                actor=user_principal(by),
                action="approval.approve" if approve else "approval.deny",
                resource=locked.resource.slug,
                target_type="approval_request",
                target_id=locked.pk,
                reason=locked.decision_reason,
                on_behalf_of=locked.on_behalf_of,
                workflow_run=locked.workflow_run,
                changes={
                    "status": ["pending", locked.status],
                    "agent": locked.agent.principal,
                    "action": locked.action,
                    "valid_until": locked.valid_until.isoformat(),
                },
            )
            approval_decided_notify(locked)
    if lapsed:
        raise ApprovalError("this request has expired; the agent must ask again")
    approval.status, approval.valid_until = locked.status, locked.valid_until
    approval.decided_at, approval.decided_by = locked.decided_at, locked.decided_by
    return locked


def approvals_expire_due(*, now: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Mark pending requests past ``expires_at`` as expired, with an audit entry; re-runnable."""
    now = now or timezone.now()
    count = 0
    while True:
        with transaction.atomic():
            batch = list(
                ApprovalRequest.objects.select_for_update(skip_locked=True)
                .select_related("resource")
                .filter(status=ApprovalRequest.Status.PENDING, expires_at__lte=now)[:batch_size]
            )
            for approval in batch:
                _expire(approval)
        count += len(batch)
        if len(batch) < batch_size:
            return count
