"""The rules of the decision point as pure functions over what the service has loaded.

Two layers, in order: access control (token, agent, scope, connection; the counters are
checked last, by the service, so that a request denied for any other reason counts nothing),
then trust. A rule named in the connection's or the organisation's ``log_only_rules`` is
evaluated exactly as if enforced, and what it *would* have done is reported, not applied.

Trust floors: a floor is the level at which an agent acts on its own. A PENDING agent below a
floor (that is, under a TRUSTED floor) needs a human's approval; an UNTRUSTED agent is
quarantined whatever the floors say (a floor of ``untrusted`` counts as ``pending``), so it is
denied until its level rises.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from agents.models import TRUST_ORDER, TrustLevel

ALLOW, DENY, APPROVAL_REQUIRED = "allow", "deny", "approval_required"

RULE_TRUST_FLOOR = "trust_floor"  # the connection's floor
RULE_ORG_TRUST_FLOOR = "org_trust_floor"  # the organisation's floor
RULE_RATE = "rate_limit"
RULE_BUDGET = "budget"
LOG_ONLY_RULES = (RULE_TRUST_FLOOR, RULE_ORG_TRUST_FLOOR, RULE_RATE, RULE_BUDGET)

# Token check reasons (credentials.token_check) → decision reason codes.
TOKEN_REASONS = {
    "expired": "token_expired",
    "not_yet_valid": "token_not_yet_valid",
    "wrong_audience": "token_wrong_audience",
    "wrong_issuer": "token_wrong_issuer",
    "bad_signature": "token_bad_signature",
    "token_revoked": "token_revoked",
    "agent_inactive": "agent_inactive",
    "actor_inactive": "actor_inactive",
    "credential_revoked": "credential_revoked",
    "run_closed": "run_closed",
}

MESSAGES = {
    "token_expired": "The access token has expired.",
    "token_not_yet_valid": "The access token is not valid yet.",
    "token_wrong_audience": "The access token was not issued for this resource.",
    "token_wrong_issuer": "The access token was not issued by this server.",
    "token_bad_signature": "The access token's signature does not verify.",
    "token_revoked": "The access token has been revoked.",
    "token_invalid": "The access token is not valid.",
    "agent_inactive": "The agent is suspended or decommissioned.",
    "actor_inactive": "An agent in the delegation chain is suspended or decommissioned.",
    "credential_revoked": "The credential the token was issued with is revoked or expired.",
    "run_closed": "The workflow run the token is bound to has ended.",
    "scope_not_granted": "The agent holds no active grant of the scope for this action.",
    "scope_not_in_token": "The access token does not carry the scope for this action.",
    "no_connection": "The agent has no connection to this resource.",
    "connection_expired": "The agent's connection to this resource has expired.",
    "action_not_allowed": "The connection does not allow this action.",
    "rate_limited": "The connection's rate limit is reached for this window.",
    "budget_exceeded": "The cost would exceed the connection's budget for this period.",
    "trust_quarantined": "The agent is UNTRUSTED and quarantined until its trust level rises.",
    "trust_below_floor": "The agent's trust level is below the floor: a human must approve.",
    "approval_pending": "A human has not yet decided the approval request.",
    "approval_denied": "A human denied this request.",
    "approval_granted": "A human approved this request.",
}


@dataclass(frozen=True)
class LogOnly:
    """What a log-only rule would have done."""

    rule: str
    would: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "would": self.would, "reason": self.reason}


@dataclass
class TrustVerdict:
    outcome: str = ALLOW
    reasons: list[str] = field(default_factory=list)
    log_only: list[LogOnly] = field(default_factory=list)


def token_reason(reason: str) -> str:
    return TOKEN_REASONS.get(reason, "token_invalid")


def log_only_rules(*sources: Iterable[str] | None) -> frozenset[str]:
    """The union of the connection's and the organisation's log-only rule names."""
    out: set[str] = set()
    for names in sources:
        out.update(n for n in names or () if isinstance(n, str))
    return frozenset(out)


def access_reasons(
    *,
    scope_name: str,
    token_scopes: frozenset[str],
    granted: bool,
    connection,
    action: str,
    now: dt.datetime,
) -> list[str]:
    """Why the access-control layer (short of the counters) refuses; empty when it does not."""
    reasons = []
    if not granted:
        reasons.append("scope_not_granted")
    if scope_name not in token_scopes:
        reasons.append("scope_not_in_token")
    if connection is None:
        reasons.append("no_connection")
    else:
        if connection.expires_at is not None and connection.expires_at <= now:
            reasons.append("connection_expired")
        if action not in (connection.allowed_actions or []):
            reasons.append("action_not_allowed")
    return reasons


def _below(level: str, floor: str) -> str | None:
    required = max(TRUST_ORDER.get(floor, 2), TRUST_ORDER[TrustLevel.PENDING])
    current = TRUST_ORDER.get(level, 0)
    if current >= required:
        return None
    return "trust_quarantined" if current == 0 else "trust_below_floor"


def trust_evaluate(
    *, level: str, connection_floor: str | None, org_floor: str, log_only: frozenset[str]
) -> TrustVerdict:
    """The trust layer: the agent's level against the connection's and the organisation's floor."""
    verdict = TrustVerdict()
    floors = [(RULE_ORG_TRUST_FLOOR, org_floor)]
    if connection_floor is not None:
        floors.insert(0, (RULE_TRUST_FLOOR, connection_floor))
    for rule, floor in floors:
        reason = _below(level, floor)
        if reason is None:
            continue
        outcome = DENY if reason == "trust_quarantined" else APPROVAL_REQUIRED
        if rule in log_only:
            verdict.log_only.append(LogOnly(rule=rule, would=outcome, reason=reason))
            continue
        if reason not in verdict.reasons:
            verdict.reasons.append(reason)
        if outcome == DENY or verdict.outcome == ALLOW:
            verdict.outcome = outcome
    return verdict


def message_for(decision: str, reasons: list[str], log_only: list[LogOnly]) -> str:
    """One sentence for people; the reason codes are for programs."""
    if decision == ALLOW:
        text = "Allowed."
        if "approval_granted" in reasons:
            text = "Allowed: " + MESSAGES["approval_granted"]
    elif decision == APPROVAL_REQUIRED:
        text = "Approval required: " + MESSAGES["trust_below_floor"].split(": ")[0] + "."
        if "approval_pending" in reasons:
            text = "Approval required: " + MESSAGES["approval_pending"]
    else:
        text = "Denied: " + " ".join(MESSAGES.get(r, r) for r in reasons)
    if log_only:
        would = ", ".join(f"{lo.rule} would {lo.would.replace('_', ' ')}" for lo in log_only)
        text += f" Log-only: {would}."
    return text
