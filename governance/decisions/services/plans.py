"""A warm process's two shortcuts: speculation and plans. Neither skips a check.

**Speculation**: when the token check and the decision context are both cached at the epoch
this process saw last (``cache.epoch_hint``), decide from them *before* reading the epoch; the
audit INSERT is then written only if that epoch still holds (``decide.py``), else the decision
is made again from the database.

**Plans**: the request as evaluated up to the counters — principals, limits, log-only rules,
the decision and its reasons short of the counters, the audit entry's fixed fields — kept per
(token, calling resource server, resource, action, connection id). A plan is used only while
the token-check entry and the context entry it was built from are *the very objects* still
cached at the same epoch and in time (so it can never outlive either), and until the
connection's ``expires_at``; never for ``approval_required`` or an approval's answer (read
live), never for an inactive token. Only the cost is parsed per request. It saves rebuilding
the same request: the counters and the guarded audit INSERT run on every decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.models import Resource
from credentials import process_caches

from .. import cache
from .. import policy as p
from .inputs import parse_cost
from .request import INF, DecisionRequest, Speculated

# (token, caller id, resource, action, connection id) -> Plan
_plans = cache.EpochCache("decisions.plans")


@dataclass(frozen=True)
class Plan:
    """A request evaluated up to the counters, from the two cache entries it was built from."""

    request: DecisionRequest
    token_key: tuple[str, str]
    token_entry: Any  # the very (TokenCheck, trust) object cached under token_key
    context_key: tuple[Any, ...]
    context_entry: Any  # the very DecisionContext cached under context_key
    decision: str
    reasons: list[str]
    log_only: list[p.LogOnly]


def _key(args: dict[str, Any]) -> tuple[Any, ...] | None:
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


def plan_hit(args: dict[str, Any]) -> tuple[DecisionRequest, Plan] | None:
    """The request decided from a plan at the epoch this process saw last, else None."""
    epoch = cache.epoch_hint()
    key = _key(args) if epoch is not None else None
    if key is None:
        return None
    clock = process_caches.time()
    plan = _plans.get(key, epoch, clock)
    if (
        plan is None
        or cache.token_checks.get(plan.token_key, epoch, clock) is not plan.token_entry
        or cache.contexts.get(plan.context_key, epoch, clock) is not plan.context_entry
    ):
        return None
    amount = parse_cost(args["cost"])  # the one input that varies; bad values are a 400
    return plan.request.at(amount, process_caches.now(), epoch), plan


def plan_keep(
    args: dict[str, Any],
    req: DecisionRequest,
    decision: str,
    reasons: list[str],
    log_only: list[p.LogOnly],
) -> None:
    """Remember a request whose evaluation the cached entries alone determine."""
    key = _key(args)
    if key is None or req.epoch is None or decision == p.APPROVAL_REQUIRED:
        return  # approvals are read live
    if "approval_granted" in reasons or "approval_denied" in reasons or not req.check.active:
        return
    clock = process_caches.time()
    token_key = (args["token"], req.target.audience)
    context_key = (req.agent.pk, req.target.pk, req.scope_name)
    token_entry = cache.token_checks.get(token_key, req.epoch, clock)
    context_entry = cache.contexts.get(context_key, req.epoch, clock)
    if token_entry is None or context_entry is None:
        return
    # The only rule that time alone changes here: the connection's expiry.
    expires = req.connection.expires_at if req.connection is not None else None
    until = expires.timestamp() if expires is not None else INF
    plan = Plan(
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


def speculate(token: str, target: Resource, scope_name: str) -> Speculated | None:
    """(epoch, token check, context) if both are cached at the last epoch seen, else None."""
    epoch = cache.epoch_hint()
    if epoch is None:
        return None
    clock = process_caches.time()
    hit = cache.token_checks.get((token, target.audience), epoch, clock)
    if hit is None or hit[0].agent is None:
        return None
    ctx = cache.contexts.get((hit[0].agent.pk, target.pk, scope_name), epoch, clock)
    return None if ctx is None else (epoch, hit, ctx)
