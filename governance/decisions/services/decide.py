"""``decision_make``: decide, count and audit one request — the service of the decision point.

It takes the question (``inputs``), the request from a plan or speculation when this process is
warm (``plans``) or else from the epoch caches or the database (``request``), evaluates it
(``evaluation``), then counts it in the shared counters only once every other rule has passed
and writes the audit entry: in the same transaction as database counters; a Redis count is
refunded if the entry cannot be written. When anything came from a cache, the audit INSERT is
guarded by the epoch it was read at (``audit.services.record_row(only_if=…)``): if the epoch
moved, nothing is written or counted and the decision is made again from the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection as db_connection

from agents.models import Resource
from audit.services import AuditGuardFailed, AuditWriteError, record_row
from audit.sqlite_turns import atomic_in_turn
from governance.approvals.services import approval_request_open

from .. import cache
from .. import policy as p
from ..counters import Usage, get_counters
from ..errors import CallerUnverified, DecisionUnavailable
from . import inputs, plans
from .answer import Decision
from .evaluation import counter_reasons, evaluate, remaining
from .request import DecisionRequest, load

AUDIT_OUTCOME = {p.ALLOW: "success", p.DENY: "denied", p.APPROVAL_REQUIRED: "pending"}


def decision_make(
    *,
    caller: Resource,
    token: str,
    action: str,
    resource: str,
    cost: Any = None,
    connection_id: int | None = None,
    now: dt.datetime | None = None,
    caller_epoch: int | None = None,
) -> Decision:
    """Decide, count and audit one request of an agent to ``action`` on ``resource``.

    ``caller``: the calling resource server. ``caller_epoch``: the epoch at
    which the caller's authentication was cached (views only). A caller-supplied ``now``
    (tests, replays) is evaluated from the database, never from a cache.
    """
    args = {
        "caller": caller,
        "token": token,
        "action": action,
        "resource": resource,
        "cost": cost,
        "connection_id": connection_id,
        "now": now,
    }
    if caller_epoch is not None:
        # The caller's authentication came from the cache at ``caller_epoch``: this decision
        # must be written under that same epoch, or not at all (the view then re-authenticates).
        try:
            return _decide(args, speculative=True, require_epoch=caller_epoch)
        except AuditGuardFailed:
            cache.forget_hint()
            raise CallerUnverified() from None
    try:
        return _decide(args, speculative=True)
    except AuditGuardFailed:
        # Decided from a cache whose epoch had moved on: nothing was written, any count was
        # refunded or rolled back. Decide again from the database.
        cache.forget_hint()
        return _decide(args, speculative=False)


def _request(args: dict[str, Any], speculative: bool) -> DecisionRequest:
    """The input checked and what the rules read, speculated when warm and allowed."""
    asked = inputs.parse(
        caller=args["caller"],
        token=args["token"],
        action=args["action"],
        resource=args["resource"],
        cost=args["cost"],
    )
    speculated = None
    if speculative and args["now"] is None:
        speculated = plans.speculate(asked.token, asked.target, asked.scope_name)
    return load(asked, connection_id=args["connection_id"], now=args["now"], speculated=speculated)


def _decide(
    args: dict[str, Any], *, speculative: bool, require_epoch: int | None = None
) -> Decision:
    hit = plans.plan_hit(args) if speculative and args["now"] is None else None
    req = hit[0] if hit is not None else _request(args, speculative)
    if require_epoch is not None and req.guard_epoch != require_epoch:
        raise CallerUnverified()  # not decided from the cache at the caller's epoch
    if hit is not None:
        plan = hit[1]
        decision, reasons, extra_log = plan.decision, list(plan.reasons), list(plan.log_only)
        approval = None
    else:
        decision, reasons, extra_log, approval = evaluate(req)
        if args["now"] is None:
            plans.plan_keep(args, req, decision, reasons, extra_log)
    counters = get_counters()
    limits = req.limits
    usage: Usage | None = None
    consumed = False
    # A transaction only when it has more than one write to hold together: database counters
    # with their audit entry, or an approval request with it. Otherwise the audit INSERT alone
    # commits (a Redis count is refunded below if it fails).
    relaxed = not settings.DECISIONS_DURABLE_AUDIT and db_connection.vendor == "postgresql"
    transactional = getattr(counters, "transactional", False)
    atomic = relaxed or transactional or decision == p.APPROVAL_REQUIRED
    try:
        with atomic_in_turn(db_connection) if atomic else contextlib.nullcontext():
            if relaxed:
                # Opt-in (DECISIONS_DURABLE_AUDIT=False): commit without waiting for the WAL
                # flush. Errors still surface; a crash of the database server itself may lose
                # the last fraction of a second of decisions. See docs/decisions.md.
                with db_connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            if limits is not None:
                # Counted only when everything else allows; otherwise a peek for `remaining`.
                try:
                    usage = counters.consume(
                        limits=limits, cost=req.amount, now=req.now, dry_run=decision != p.ALLOW
                    )
                except Exception as exc:  # Redis down, lock timeout: fail closed
                    raise DecisionUnavailable(
                        "temporarily_unavailable", "the shared counters cannot be reached"
                    ) from exc
                consumed = usage.consumed
                counted, counted_log = counter_reasons(usage, limits)
                extra_log = [*extra_log, *counted_log]
                if counted and decision != p.DENY:
                    # An enforced limit refuses: deny, and open no approval for it.
                    decision, reasons, approval = p.DENY, counted, None
            if decision == p.APPROVAL_REQUIRED:
                approval = approval_request_open(
                    agent=req.agent,
                    resource=req.target,
                    connection_id=req.connection.pk if req.connection is not None else None,
                    action=req.action,
                    cost=req.amount,
                    workflow_run=req.check.workflow_run,
                    on_behalf_of=req.on_behalf_of,
                    token_jti=req.check.jti,
                    reasons=reasons,
                    now=req.now,
                    policy=req.org,
                )
                reasons = [*reasons, "approval_pending"]
            result = Decision(
                decision=decision,
                reasons=reasons,
                message=p.message_for(decision, reasons, extra_log),
                trust=req.trust,
                remaining=remaining(usage),
                approval=approval,
                log_only=extra_log,
            )
            result.audit_id = _audit(req, result)
    except BaseException as exc:
        # Fail closed without charging the agent: a count the audit log does not explain is
        # refunded (database counters rolled back with the transaction already).
        if consumed and limits is not None and not transactional:
            counters.refund(limits=limits, cost=req.amount, now=req.now)
        if isinstance(exc, AuditWriteError):
            raise DecisionUnavailable(
                "temporarily_unavailable", "the decision could not be recorded; nothing allowed"
            ) from exc
        raise
    return result


def _audit(req: DecisionRequest, result: Decision) -> int:
    """The decision's audit entry; guarded by the epoch when decided from a cache."""
    check, connection = req.check, req.connection
    return record_row(
        actor=req.actor,
        actor_id=req.agent.pk if req.agent is not None and not check.act_chain else "",
        action="decision",
        outcome=AUDIT_OUTCOME[result.decision],
        reason=result.message,
        resource=req.target.slug,
        target_type="connection" if connection is not None else "",
        target_id=connection.pk if connection is not None else "",
        on_behalf_of=req.on_behalf_of,
        workflow_run=check.workflow_run,
        token_jti=check.jti,
        credential_id=check.credential_id,
        context_data={
            "decision": result.decision,
            "reasons": result.reasons,
            "log_only": [lo.as_dict() for lo in result.log_only],
            "requested_action": req.action,
            "cost": str(req.amount),
            "trust": req.trust,
            "remaining": result.remaining,
            "approval_id": str(result.approval.pk) if result.approval is not None else None,
            "resource_server": req.caller.slug,
            "subject": check.subject,
        },
        only_if=cache.epoch_guard(req.guard_epoch) if req.guard_epoch is not None else None,
    )
