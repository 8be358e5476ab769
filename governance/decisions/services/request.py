"""What one decision reads: the token check and the registry context, cached or fresh.

Both come from the epoch caches (``governance/decisions/cache.py``) when this process read them
at the current revocation epoch and time alone has not ended them; otherwise from the database
(``check_access_token``, one query; ``selectors.decision_context``, one query). The epoch is
read BEFORE anything it vouches for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from agents.models import TRUST_ORDER, Agent, Connection, Resource
from credentials import process_caches
from credentials.token_check import LEEWAY_SECONDS, TokenCheck, ancestors_of, check_access_token

from .. import cache
from .. import policy as p
from ..counters import Limits
from ..errors import DecisionInputError
from ..selectors import ConnectionRow, DecisionContext, decision_context
from .inputs import Asked

INF = float("inf")
# What speculation found in the caches: (epoch, (token check, trust), context).
Speculated = tuple[int, tuple[TokenCheck, dict[str, Any] | None], DecisionContext]


@dataclass
class DecisionRequest:
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

    @property
    def scope_name(self) -> str:
        return f"{self.target.slug}:{self.action}"

    def at(self, amount: Decimal, now: dt.datetime, guard_epoch: int) -> DecisionRequest:
        """The same request for another cost and moment, decided under ``guard_epoch``."""
        trust = dict(self.trust) if self.trust is not None else None  # handed out in the Decision
        return replace(self, amount=amount, now=now, guard_epoch=guard_epoch, trust=trust)


def principals(check: TokenCheck) -> tuple[str, list[str]]:
    """(actor, on whose behalf): RFC 8693 — ``act`` is who acts, ``sub`` whom it acts for."""
    subject = check.subject or "unknown"
    if check.act_chain:
        return check.act_chain[0], [subject, *check.act_chain[1:]]
    return subject, []


def limits_of(connection: ConnectionRow, log_only: frozenset[str]) -> Limits:
    return Limits(
        connection_id=connection.pk,
        rate_limit=connection.rate_limit,
        window_seconds=connection.rate_window_seconds,
        budget_cap=connection.budget_cap,
        budget_period=connection.budget_period,
        enforce_rate=p.RULE_RATE not in log_only,
        enforce_budget=p.RULE_BUDGET not in log_only,
    )


def effective_trust(agent: Agent, act_chain: tuple[str, ...]) -> dict[str, Any]:
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


def token_check(
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
    trust = effective_trust(agent, check.act_chain) if agent is not None else None
    if check.active and epoch is not None:
        _, ancestor_creds = ancestors_of(check.claims)
        until = cache.token_valid_until(
            exp=check.claims.get("exp"),
            leeway=LEEWAY_SECONDS,
            credential_ids=[c for c in [check.credential_id, *ancestor_creds] if c],
            run=check.workflow_run,
        )
        until = min(until, check.valid_until)  # a grant behind the check's scopes lapses
        cache.token_checks.put(key, epoch, until, (check, trust))
    return check, trust


def _context(
    agent: Agent | None, asked: Asked, epoch: int | None, clock: float, now: dt.datetime
) -> DecisionContext:
    """The scope, grant, connection and policy the rules read: cached at ``epoch``, or read."""
    key = (agent.pk if agent is not None else None, asked.target.pk, asked.scope_name)
    ctx = cache.contexts.get(key, epoch, clock)
    if ctx is None:
        ctx = decision_context(
            agent_id=agent.pk if agent is not None else None,
            resource_id=asked.target.pk,
            action=asked.action,
            now=now,
        )
        lapses = ctx.granted_until.timestamp() if ctx.granted and ctx.granted_until else INF
        cache.contexts.put(key, epoch, lapses, ctx)
    return ctx


def load(
    asked: Asked,
    *,
    connection_id: int | None,
    now: dt.datetime | None,
    speculated: Speculated | None,
) -> DecisionRequest:
    """Read what the rules need for ``asked``: from ``speculated`` (both entries found cached at
    the last epoch seen: decided before reading the epoch, written only if it still holds), or
    at the epoch read now. A caller-supplied ``now`` (tests, replays) reads everything."""
    clock = process_caches.time()
    if speculated is not None:
        epoch, (check, trust), ctx = speculated
    else:
        # The epoch is read BEFORE anything it validates (cache.py); None: read everything.
        epoch = cache.current_epoch() if now is None else None
        check, trust = token_check(asked.token, asked.target.audience, epoch, clock)
        ctx = None
    now = now or process_caches.now()
    agent = check.agent
    if ctx is None:
        ctx = _context(agent, asked, epoch, clock, now)
    connection = ctx.connection
    if connection_id is not None and (connection is None or connection.pk != connection_id):
        # Not the agent's connection to this resource (read at the same epoch): someone
        # else's (no_connection), or none at all (400).
        if not Connection.objects.filter(pk=connection_id).exists():
            raise DecisionInputError("invalid_request", f"unknown connection {connection_id}")
        connection = None
    if not ctx.scope_known:
        raise DecisionInputError(
            "invalid_request",
            f"unknown action {asked.action!r} on resource {asked.target.slug!r}",
        )
    actor, on_behalf_of = principals(check)
    log_only = p.log_only_rules(ctx.policy.log_only_rules, connection and connection.log_only_rules)
    return DecisionRequest(
        caller=asked.caller,
        target=asked.target,
        action=asked.action,
        amount=asked.amount,
        now=now,
        check=check,
        # The subject's grant (ctx), and every actor's behind a delegated token (the check).
        granted=ctx.granted
        and (asked.scope_name in check.scopes or asked.scope_name not in check.claimed_scopes),
        connection=connection,
        org=ctx.policy,
        log_only=log_only,
        trust=dict(trust) if trust is not None else None,
        actor=actor,
        on_behalf_of=on_behalf_of,
        guard_epoch=epoch if speculated is not None else None,
        epoch=epoch,
        limits=limits_of(connection, log_only) if connection is not None else None,
    )
