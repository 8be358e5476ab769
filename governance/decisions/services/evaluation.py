"""Both layers of a decision short of the counters, and what the counters then add.

Access control first (``policy.access_reasons``: token, agent, scope, connection), then trust
(``policy.trust_evaluate``). Below a floor but not quarantined, a human's answer on the
identical request decides (``approvals``), read live, never cached. The counters come last
(``decide.py``): only a request that everything else allows is counted.
"""

from __future__ import annotations

from typing import Any

from governance.approvals.models import ApprovalRequest
from governance.approvals.services import approval_covering, approval_fingerprint

from .. import policy as p
from ..counters import Limits, Usage
from .request import DecisionRequest


def evaluate(
    req: DecisionRequest,
) -> tuple[str, list[str], list[p.LogOnly], ApprovalRequest | None]:
    """(decision, reasons, log-only results, approval) before the counters."""
    check, agent = req.check, req.agent
    reasons: list[str] = []
    if not check.active:
        reasons.append(p.token_reason(check.reason))
    elif not agent.is_active:
        reasons.append("agent_inactive")
    else:
        reasons += p.access_reasons(
            scope_name=req.scope_name,
            token_scopes=check.claimed_scopes,
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


def counter_reasons(usage: Usage, limits: Limits) -> tuple[list[str], list[p.LogOnly]]:
    """What the counters refuse (enforced limits) and would refuse (log-only limits)."""
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


def remaining(usage: Usage | None) -> dict[str, Any]:
    """The answer's ``remaining``: rate and budget left after this request (None: no limit)."""
    if usage is None:
        return {"rate": None, "budget": None}
    budget = usage.budget_remaining
    return {"rate": usage.rate_remaining, "budget": None if budget is None else str(budget)}
