"""``decision_make``: may this agent do this action on this resource, now? Audited, always.

The one entry point of the decision point (the HTTP view and the bench call it). It loads what
the rules need in a few queries, evaluates the layers (``policy``), counts the request in the
shared counters only once every other rule has passed, and writes the audit entry in the same
transaction as the database counters; a Redis count is refunded if that transaction fails.
A warm process reuses the token check and the decision context only while the revocation
epoch (``cache.py``, bumped by database triggers in the committing transaction) is unchanged,
so a suspension, revocation, trust change or policy change is seen by every process on its
very next decision.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone

from agents.models import TRUST_ORDER, Agent, Connection, Resource
from audit.services import AuditGuardFailed, AuditWriteError, record_row
from audit.sqlite_turns import atomic_in_turn
from credentials.tokens import LEEWAY_SECONDS, TokenCheck, ancestors_of, check_access_token
from governance.approvals.models import ApprovalRequest
from governance.approvals.services import (
    approval_covering,
    approval_fingerprint,
    approval_request_open,
)

from . import cache
from . import policy as p
from .counters import Limits, Usage, get_counters
from .errors import CallerUnverified, DecisionForbidden, DecisionInputError, DecisionUnavailable
from .selectors import ConnectionRow, decision_context

ACTION_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_COST = Decimal("10000000000")  # Connection.budget_cap's range (14 digits, 4 decimals)
INF = float("inf")
AUDIT_OUTCOME = {p.ALLOW: "success", p.DENY: "denied", p.APPROVAL_REQUIRED: "pending"}


@dataclass
class Decision:
    """The answer of the decision point (``as_dict`` is the HTTP body)."""

    decision: str
    reasons: list[str]
    message: str
    trust: dict[str, Any] | None = None
    remaining: dict[str, Any] = field(default_factory=lambda: {"rate": None, "budget": None})
    approval: ApprovalRequest | None = None
    log_only: list[p.LogOnly] = field(default_factory=list)
    audit_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        approval = None
        if self.approval is not None:
            approval = {
                "id": str(self.approval.pk),
                "status": self.approval.status,
                "url": f"/api/v1/approvals/{self.approval.pk}",
                "portal_url": f"/portal/approvals/{self.approval.pk}/",
                "expires_at": self.approval.expires_at.isoformat(),
                "valid_until": self.approval.valid_until.isoformat()
                if self.approval.valid_until
                else None,
            }
        return {
            "decision": self.decision,
            "reasons": self.reasons,
            "message": self.message,
            "trust": self.trust,
            "remaining": self.remaining,
            "approval": approval,
            "log_only": [lo.as_dict() for lo in self.log_only],
            "audit_id": self.audit_id,
        }


def parse_cost(raw: Any) -> Decimal:
    """A cost in units, ≥ 0, at most 4 decimals; bad values are a 400."""
    if raw is None or raw == "":
        return Decimal(0)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise DecisionInputError("invalid_request", "cost must be a number")
    try:
        cost = Decimal(str(raw))
    except InvalidOperation:
        raise DecisionInputError("invalid_request", "cost must be a number") from None
    if not cost.is_finite():
        raise DecisionInputError("invalid_request", "cost must be a finite number")
    if cost < 0:
        raise DecisionInputError("invalid_request", "cost must not be negative")
    if cost > MAX_COST or cost != cost.quantize(Decimal("0.0001")):
        raise DecisionInputError(
            "invalid_request", "cost must be at most 10^10 with at most 4 decimals"
        )
    return cost


def _resource_for(caller: Resource, resource: str) -> Resource:
    if resource in (caller.slug, caller.audience):
        return caller
    if not isinstance(resource, str) or not resource:
        raise DecisionInputError("invalid_request", "resource is required")
    if (
        Resource.objects.filter(slug=resource).exists()
        or Resource.objects.filter(audience=resource).exists()
    ):
        raise DecisionForbidden(
            "forbidden", "a resource server may only ask about its own resource"
        )
    raise DecisionInputError("invalid_request", f"unknown resource {resource[:100]!r}")


def _principals(check: TokenCheck) -> tuple[str, list[str]]:
    """(actor, on whose behalf): RFC 8693 — ``act`` is who acts, ``sub`` whom it acts for."""
    subject = check.subject or "unknown"
    if check.act_chain:
        return check.act_chain[0], [subject, *check.act_chain[1:]]
    return subject, []


def _limits(connection: ConnectionRow, log_only: frozenset[str]) -> Limits:
    return Limits(
        connection_id=connection.pk,
        rate_limit=connection.rate_limit,
        window_seconds=connection.rate_window_seconds,
        budget_cap=connection.budget_cap,
        budget_period=connection.budget_period,
        enforce_rate=p.RULE_RATE not in log_only,
        enforce_budget=p.RULE_BUDGET not in log_only,
    )


def _remaining(usage: Usage | None) -> dict[str, Any]:
    if usage is None:
        return {"rate": None, "budget": None}
    budget = usage.budget_remaining
    return {"rate": usage.rate_remaining, "budget": None if budget is None else str(budget)}


def _counter_reasons(usage: Usage, limits: Limits) -> tuple[list[str], list[p.LogOnly]]:
    reasons, log_only = [], []
    for exceeded, enforced, rule, reason in (
        (usage.rate_exceeded, limits.enforce_rate, p.RULE_RATE, "rate_limited"),
        (usage.budget_exceeded, limits.enforce_budget, p.RULE_BUDGET, "budget_exceeded"),
    ):
        if exceeded and enforced:
            reasons.append(reason)
        elif exceeded:
            log_only.append(p.LogOnly(rule=rule, would=p.DENY, reason=reason))
    return reasons, log_only


def _effective_trust(agent: Agent, act_chain: tuple[str, ...]) -> dict[str, Any]:
    """The subject's trust, or the lowest in the delegation chain: an UNTRUSTED actor does not
    escape quarantine by acting through a TRUSTED agent's token."""
    level, score = agent.trust_level, agent.trust_score
    if act_chain:
        slugs = [principal.split(":", 1)[1] for principal in act_chain]
        rows = Agent.objects.filter(slug__in=slugs).values_list("trust_level", "trust_score")
        for actor_level, actor_score in rows:
            if (TRUST_ORDER.get(actor_level, 0), actor_score) < (TRUST_ORDER.get(level, 0), score):
                level, score = actor_level, actor_score
    return {"score": score, "level": level}


def _token_check(
    token: str, audience: str, epoch: int | None, clock: float
) -> tuple[TokenCheck, dict[str, Any] | None]:
    """``check_access_token`` and the effective trust, reused while the epoch holds.

    Only an active check is kept, until the first moment time alone could end it (cache.py).
    """
    key = (token, audience)
    hit = cache.token_checks.get(key, epoch, clock)
    if hit is not None:
        return hit
    check = check_access_token(token, audience=audience)
    if check.reason == "malformed":
        raise DecisionInputError("invalid_token", "the token is not a well-formed access token")
    agent = check.agent
    trust = _effective_trust(agent, check.act_chain) if agent is not None else None
    if check.active and epoch is not None:
        _, ancestor_creds = ancestors_of(check.claims)
        until = cache.token_valid_until(
            exp=check.claims.get("exp"),
            leeway=LEEWAY_SECONDS,
            credential_ids=[c for c in [check.credential_id, *ancestor_creds] if c],
            run=check.workflow_run,
        )
        cache.token_checks.put(key, epoch, until, (check, trust))
    return check, trust


@dataclass
class _Request:
    """Everything one decision has loaded: the input, the token check, the registry rows."""

    caller: Resource
    target: Resource
    action: str
    amount: Decimal
    now: dt.datetime
    check: TokenCheck
    granted: bool
    connection: ConnectionRow | None
    org: Any
    log_only: frozenset[str]
    trust: dict[str, Any] | None
    actor: str
    on_behalf_of: list[str]
    guard_epoch: int | None = None  # decided from the cache before reading the epoch
    epoch: int | None = None  # the epoch everything above was read at (None: not cacheable)
    limits: Limits | None = None  # the connection's, with its log-only rules applied

    @property
    def agent(self) -> Agent | None:
        return self.check.agent

    def at(self, amount: Decimal, now: dt.datetime, guard_epoch: int) -> _Request:
        """The same request for another cost and moment, decided under ``guard_epoch``."""
        trust = dict(self.trust) if self.trust is not None else None  # handed out in the Decision
        return replace(self, amount=amount, now=now, guard_epoch=guard_epoch, trust=trust)


def _load(
    *,
    caller: Resource,
    token: Any,
    action: Any,
    resource: Any,
    cost: Any,
    connection_id: int | None,
    now: dt.datetime | None,
    speculative: bool,
) -> _Request:
    """Validate the input (400s) and read what the rules need: the token check, one query."""
    if not isinstance(action, str) or not ACTION_RE.match(action):
        raise DecisionInputError("invalid_request", "action must be a lowercase action name")
    if not isinstance(token, str) or not token:
        raise DecisionInputError("invalid_request", "token is required")
    amount = parse_cost(cost)
    target = _resource_for(caller, resource)
    scope_name = f"{target.slug}:{action}"
    clock = time.time()
    # A caller-supplied ``now`` (tests, replays) is evaluated from the database, never cached.
    guard = _speculate(token, target, scope_name, clock) if speculative and now is None else None
    if guard is not None:
        # Both answers are in the cache at the epoch this process saw last: decide now, and
        # the audit INSERT is written only if that epoch still holds (``_audit``).
        epoch, (check, trust), ctx = guard
        agent = check.agent
    else:
        # The epoch is read BEFORE anything it validates (cache.py); None: read everything.
        epoch = cache.current_epoch() if now is None else None
        check, trust = _token_check(token, target.audience, epoch, clock)
        agent = check.agent
        ctx = None
    now = now or timezone.now()
    ctx_key = (agent.pk if agent is not None else None, target.pk, scope_name)
    if ctx is None:
        ctx = cache.contexts.get(ctx_key, epoch, clock)
    if ctx is None:
        ctx = decision_context(
            agent_id=agent.pk if agent is not None else None,
            resource_id=target.pk,
            scope_name=scope_name,
            now=now,
        )
        lapses = ctx.granted_until.timestamp() if ctx.granted and ctx.granted_until else INF
        cache.contexts.put(ctx_key, epoch, lapses, ctx)
    connection = ctx.connection
    if connection_id is not None and (connection is None or connection.pk != connection_id):
        # Not the agent's connection to this resource (read at the same epoch): someone
        # else's (no_connection), or none at all (400).
        if not Connection.objects.filter(pk=connection_id).exists():
            raise DecisionInputError("invalid_request", f"unknown connection {connection_id}")
        connection = None
    if not ctx.scope_known:
        raise DecisionInputError(
            "invalid_request", f"unknown action {action!r} on resource {target.slug!r}"
        )
    actor, on_behalf_of = _principals(check)
    log_only = p.log_only_rules(ctx.policy.log_only_rules, connection and connection.log_only_rules)
    return _Request(
        caller=caller,
        target=target,
        action=action,
        amount=amount,
        now=now,
        check=check,
        granted=ctx.granted,
        connection=connection,
        org=ctx.policy,
        log_only=log_only,
        trust=dict(trust) if trust is not None else None,
        actor=actor,
        on_behalf_of=on_behalf_of,
        guard_epoch=epoch if guard is not None else None,
        epoch=epoch,
        limits=_limits(connection, log_only) if connection is not None else None,
    )


@dataclass(frozen=True)
class _Plan:
    """A request evaluated up to the counters, from the two cache entries it was built from."""

    request: _Request
    token_key: tuple[str, str]
    token_entry: Any  # the very (TokenCheck, trust) object cached under token_key
    context_key: tuple[Any, ...]
    context_entry: Any  # the very DecisionContext cached under context_key
    decision: str
    reasons: list[str]
    log_only: list[p.LogOnly]


# (token, caller id, resource, action, connection id) -> _Plan. A plan is used only while both
# entries it was built from are still the ones cached, at the same epoch and in time: it adds
# nothing those caches do not already allow, it only skips rebuilding the same request.
_plans = cache.EpochCache()


def _plan_key(args: dict[str, Any]) -> tuple[Any, ...] | None:
    token, action, resource, connection_id = (
        args["token"],
        args["action"],
        args["resource"],
        args["connection_id"],
    )
    if not (
        isinstance(token, str)
        and isinstance(action, str)
        and isinstance(resource, str)
        and (connection_id is None or type(connection_id) is int)
    ):
        return None
    return (token, args["caller"].pk, resource, action, connection_id)


def _plan_hit(args: dict[str, Any]) -> tuple[_Request, _Plan] | None:
    """The request decided from a plan at the epoch this process saw last, else None."""
    epoch = cache.epoch_hint()
    key = _plan_key(args) if epoch is not None else None
    if key is None:
        return None
    clock = time.time()
    plan = _plans.get(key, epoch, clock)
    if (
        plan is None
        or cache.token_checks.get(plan.token_key, epoch, clock) is not plan.token_entry
        or cache.contexts.get(plan.context_key, epoch, clock) is not plan.context_entry
    ):
        return None
    amount = parse_cost(args["cost"])  # the one input that varies; bad values are a 400
    return plan.request.at(amount, timezone.now(), epoch), plan


def _plan_keep(
    args: dict[str, Any], req: _Request, decision: str, reasons: list[str], log_only: list
) -> None:
    """Remember a request whose evaluation the cached entries alone determine."""
    key = _plan_key(args)
    if key is None or req.epoch is None or decision == p.APPROVAL_REQUIRED:
        return  # approvals are read live
    if "approval_granted" in reasons or "approval_denied" in reasons or not req.check.active:
        return
    clock = time.time()
    token_key = (args["token"], req.target.audience)
    context_key = (req.agent.pk, req.target.pk, f"{req.target.slug}:{req.action}")
    token_entry = cache.token_checks.get(token_key, req.epoch, clock)
    context_entry = cache.contexts.get(context_key, req.epoch, clock)
    if token_entry is None or context_entry is None:
        return
    # The only rule that time alone changes here: the connection's expiry.
    expires = req.connection.expires_at if req.connection is not None else None
    until = expires.timestamp() if expires is not None else INF
    plan = _Plan(
        request=req,
        token_key=token_key,
        token_entry=token_entry,
        context_key=context_key,
        context_entry=context_entry,
        decision=decision,
        reasons=list(reasons),
        log_only=list(log_only),
    )
    _plans.put(key, req.epoch, until, plan)


def _speculate(
    token: str, target: Resource, scope_name: str, clock: float
) -> tuple[int, tuple[TokenCheck, dict[str, Any] | None], Any] | None:
    """(epoch, token check, context) if both are cached at the last epoch seen, else None."""
    epoch = cache.epoch_hint()
    if epoch is None:
        return None
    hit = cache.token_checks.get((token, target.audience), epoch, clock)
    if hit is None or hit[0].agent is None:
        return None
    ctx = cache.contexts.get((hit[0].agent.pk, target.pk, scope_name), epoch, clock)
    return None if ctx is None else (epoch, hit, ctx)


def _evaluate(req: _Request) -> tuple[str, list[str], list[p.LogOnly], ApprovalRequest | None]:
    """Both layers short of the counters: (decision, reasons, log-only results, approval)."""
    check, agent = req.check, req.agent
    reasons: list[str] = []
    if not check.active:
        reasons.append(p.token_reason(check.reason))
    elif not agent.is_active:
        reasons.append("agent_inactive")
    else:
        reasons += p.access_reasons(
            scope_name=f"{req.target.slug}:{req.action}",
            token_scopes=check.scopes,
            granted=req.granted,
            connection=req.connection,
            action=req.action,
            now=req.now,
        )
    verdict = p.TrustVerdict()
    if agent is not None:
        verdict = p.trust_evaluate(
            level=req.trust["level"],
            connection_floor=req.connection.trust_floor if req.connection else None,
            org_floor=req.org.org_trust_floor,
            log_only=req.log_only,
        )
    if reasons or verdict.outcome == p.DENY:
        return p.DENY, reasons + verdict.reasons, verdict.log_only, None
    if verdict.outcome == p.ALLOW:
        return p.ALLOW, [], verdict.log_only, None
    # Below a floor but not quarantined: a human's answer on the identical request decides.
    approval = approval_covering(
        fingerprint=approval_fingerprint(
            agent_slug=agent.slug,
            resource_slug=req.target.slug,
            action=req.action,
            cost=req.amount,
            workflow_run=check.workflow_run,
            on_behalf_of=req.on_behalf_of,
        ),
        now=req.now,
    )
    if approval is None:
        return p.APPROVAL_REQUIRED, list(verdict.reasons), verdict.log_only, None
    if approval.status == ApprovalRequest.Status.DENIED:
        return p.DENY, ["approval_denied"], verdict.log_only, approval
    return p.ALLOW, ["approval_granted"], verdict.log_only, approval


def _audit(req: _Request, result: Decision) -> int:
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

    ``caller_epoch``: the epoch at which the caller's authentication was cached (views only).
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
            return _decide(**args, speculative=True, require_epoch=caller_epoch)
        except AuditGuardFailed:
            cache.forget_hint()
            raise CallerUnverified() from None
    try:
        return _decide(**args, speculative=True)
    except AuditGuardFailed:
        # Decided from a cache whose epoch had moved on: nothing was written, any count was
        # refunded or rolled back. Decide again from the database.
        cache.forget_hint()
        return _decide(**args, speculative=False)


def _decide(*, speculative: bool, require_epoch: int | None = None, **args: Any) -> Decision:
    # A caller-supplied ``now`` (tests, replays) is evaluated from the database, never cached.
    hit = _plan_hit(args) if speculative and args["now"] is None else None
    req = hit[0] if hit is not None else _load(**args, speculative=speculative)
    if require_epoch is not None and req.guard_epoch != require_epoch:
        raise CallerUnverified()  # not decided from the cache at the caller's epoch
    if hit is not None:
        plan = hit[1]
        decision, reasons, extra_log = plan.decision, list(plan.reasons), list(plan.log_only)
        approval = None
    else:
        decision, reasons, extra_log, approval = _evaluate(req)
        if args["now"] is None:
            _plan_keep(args, req, decision, reasons, extra_log)
    counters = get_counters()
    limits = req.limits
    usage: Usage | None = None
    consumed = False
    # A transaction only when it has more than one write to hold together: database counters
    # with their audit entry, or an approval request with it. Otherwise the audit INSERT alone
    # commits (a Redis count is refunded below if it fails).
    relaxed = not getattr(settings, "DECISIONS_DURABLE_AUDIT", True) and (
        db_connection.vendor == "postgresql"
    )
    atomic = relaxed or getattr(counters, "transactional", False) or decision == p.APPROVAL_REQUIRED
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
                counted, counted_log = _counter_reasons(usage, limits)
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
                remaining=_remaining(usage),
                approval=approval,
                log_only=extra_log,
            )
            result.audit_id = _audit(req, result)
    except BaseException as exc:
        # Fail closed without charging the agent: a count the audit log does not explain is
        # refunded (database counters rolled back with the transaction already).
        if consumed and limits is not None and not getattr(counters, "transactional", False):
            counters.refund(limits=limits, cost=req.amount, now=req.now)
        if isinstance(exc, AuditWriteError):
            raise DecisionUnavailable(
                "temporarily_unavailable", "the decision could not be recorded; nothing allowed"
            ) from exc
        raise
    return result
