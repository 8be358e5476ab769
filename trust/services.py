"""Writes of trust by people: pins (a level set for a while, with a reason) and review outcomes.

The engine (``trust.recompute``) and these services are the only writers of
``Agent.trust_score`` and ``Agent.trust_level``. A pin replaces the computed level until it
expires or is released; the score stays the engine's (a pin is shown as a pin, never as a score).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from agents.events import trust_signals_changed
from agents.models import Agent, TrustLevel
from agents.permissions import can_decide
from audit.principals import By, actor_principal
from audit.services import record

from .errors import TrustError, TrustForbidden
from .models import ReviewOutcome, TrustPin

SCORE_MIN, SCORE_MAX = 0, 100
SYSTEM = "system"


def _check_pinner(by: By) -> None:
    if by != SYSTEM and not can_decide(by):
        raise TrustForbidden("only security reviewers and platform admins pin trust levels")


def _end_open_pin(agent: Agent, *, now: dt.datetime, by: str) -> TrustPin | None:
    pin = TrustPin.objects.filter(agent=agent, ended_at__isnull=True).first()
    if pin is not None:
        pin.ended_at, pin.ended_by = now, by
        pin.save(update_fields=["ended_at", "ended_by"])
    return pin


@transaction.atomic
def trust_pin(
    *,
    agent: Agent,
    level: str,
    reason: str,
    by: By,
    expires_at: dt.datetime | None = None,
    score: int | None = None,
) -> TrustPin:
    """Pin the agent's level until ``expires_at`` (at most the policy's ``pin_max_days``).

    ``score`` is for tests and benchmarks that need a given score too; people pin levels only.
    """
    from .policy import current_policy

    _check_pinner(by)
    if level not in TrustLevel.values:
        raise TrustError(f"level must be one of {', '.join(TrustLevel.values)}")
    if not (reason or "").strip():
        raise TrustError("a pin needs a reason")
    if score is not None and (
        isinstance(score, bool) or not isinstance(score, int) or not SCORE_MIN <= score <= SCORE_MAX
    ):
        raise TrustError("score must be a whole number from 0 to 100")
    now = timezone.now()
    longest = dt.timedelta(days=current_policy().pin_max_days)
    expires_at = expires_at or now + longest
    if expires_at <= now:
        raise TrustError("a pin's expiry must be in the future")
    if expires_at > now + longest + dt.timedelta(minutes=1):
        raise TrustError(f"a pin lasts at most {longest.days} days")
    actor = actor_principal(by)
    locked = Agent.objects.select_for_update().get(pk=agent.pk)
    replaced = _end_open_pin(locked, now=now, by=actor)
    pin = TrustPin.objects.create(
        agent=locked, level=level, reason=reason.strip(), created_by=actor, expires_at=expires_at
    )
    before = {"trust_score": locked.trust_score, "trust_level": locked.trust_level}
    after = {"trust_score": locked.trust_score if score is None else score, "trust_level": level}
    Agent.objects.filter(pk=locked.pk).update(
        trust_score=after["trust_score"], trust_level=level, trust_updated_at=now, updated_at=now
    )
    record(
        actor=actor,
        action="trust.pin",
        resource=locked.principal,
        target_type="agent",
        target_id=locked.pk,
        reason=pin.reason,
        changes={key: [before[key], after[key]] for key in before if before[key] != after[key]},
        context_data={
            "pin": pin.pk,
            "expires_at": expires_at.isoformat(),
            "replaces_pin": replaced.pk if replaced else None,
        },
    )
    for obj in (agent, locked):
        obj.trust_score, obj.trust_level, obj.trust_updated_at = after["trust_score"], level, now
    return pin


def trust_level_set(*, agent: Agent, score: int, level: str, reason: str, by: By) -> Agent:
    """Pin a level and set the score with it: the path of tests, benchmarks and old scripts."""
    trust_pin(agent=agent, level=level, reason=reason, by=by, score=score)
    return agent


@transaction.atomic
def trust_pin_release(*, agent: Agent, reason: str, by: By) -> TrustPin:
    """End the agent's pin now; the engine's level applies again at once."""
    _check_pinner(by)
    if not (reason or "").strip():
        raise TrustError("releasing a pin needs a reason")
    actor = actor_principal(by)
    locked = Agent.objects.select_for_update().get(pk=agent.pk)
    pin = _end_open_pin(locked, now=timezone.now(), by=actor)
    if pin is None:
        raise TrustError("the agent has no pin")
    record(
        actor=actor,
        action="trust.pin_release",
        resource=locked.principal,
        target_type="agent",
        target_id=locked.pk,
        reason=reason.strip(),
        context_data={"pin": pin.pk, "level": pin.level},
    )
    _recompute_on_commit([locked.pk])
    return pin


@transaction.atomic
def trust_pins_expire(*, now: dt.datetime | None = None) -> list[int]:
    """End the pins whose expiry has passed (audited each); returns their agents' ids."""
    now = now or timezone.now()
    expired = list(
        TrustPin.objects.select_for_update()
        .filter(ended_at__isnull=True, expires_at__lte=now)
        .select_related("agent")
    )
    for pin in expired:
        pin.ended_at, pin.ended_by = now, SYSTEM
        pin.save(update_fields=["ended_at", "ended_by"])
        record(
            actor=SYSTEM,
            action="trust.pin_expire",
            resource=pin.agent.principal,
            target_type="agent",
            target_id=pin.agent_id,
            reason=f"pin {pin.pk} ({pin.level}) expired",
            context_data={"pin": pin.pk, "level": pin.level},
        )
    return [pin.agent_id for pin in expired]


@transaction.atomic
def record_review_outcome(*, agent: Agent, certified: bool, reference: str, at: dt.datetime):
    """Remember an access review's outcome for the compliance signal (called by the reviews app)."""
    if not (reference or "").strip():
        raise TrustError("a review outcome needs a reference")
    outcome = ReviewOutcome.objects.create(
        agent=agent, certified=bool(certified), reference=reference.strip()[:200], decided_at=at
    )
    record(
        actor=SYSTEM,
        action="trust.review_outcome",
        resource=agent.principal,
        target_type="agent",
        target_id=agent.pk,
        reason=outcome.reference,
        context_data={"certified": outcome.certified, "decided_at": at.isoformat()},
    )
    _recompute_on_commit([agent.pk])
    return outcome


def _recompute_on_commit(agent_ids: list[int]) -> None:
    for agent_id in agent_ids:
        trust_signals_changed(agent_id)
