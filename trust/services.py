"""Writes of an agent's current trust score and level: this module is their only writer.

For now a platform admin sets them by hand, with a reason, from the admin. The later scoring
replaces how they are computed and written, not where they are stored: the decision point and
introspection keep reading ``Agent.trust_score`` and ``Agent.trust_level``.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from agents.models import Agent, TrustLevel
from audit.principals import user_principal
from audit.services import record

from .errors import TrustError

SCORE_MIN, SCORE_MAX = 0, 100


def _actor(by) -> str:
    return by if isinstance(by, str) else user_principal(by)


@transaction.atomic
def trust_level_set(*, agent: Agent, score: int, level: str, reason: str, by) -> Agent:
    """Set an agent's current trust score (0–100) and level, audited with before and after."""
    if isinstance(score, bool) or not isinstance(score, int):
        raise TrustError("score must be a whole number from 0 to 100")
    if not SCORE_MIN <= score <= SCORE_MAX:
        raise TrustError("score must be a whole number from 0 to 100")
    if level not in TrustLevel.values:
        raise TrustError(f"level must be one of {', '.join(TrustLevel.values)}")
    if not (reason or "").strip():
        raise TrustError("a trust change needs a reason")
    locked = Agent.objects.select_for_update().get(pk=agent.pk)
    before = {"trust_score": locked.trust_score, "trust_level": locked.trust_level}
    now = timezone.now()
    # update() rather than save(): touch only the trust columns, never a concurrent status change.
    Agent.objects.filter(pk=locked.pk).update(
        trust_score=score, trust_level=level, trust_updated_at=now, updated_at=now
    )
    after = {"trust_score": score, "trust_level": str(level)}
    record(
        actor=_actor(by),
        action="trust.set",
        resource=locked.principal,
        target_type="agent",
        target_id=locked.pk,
        reason=reason.strip(),
        changes={key: [before[key], after[key]] for key in before},
    )
    for obj in (agent, locked):
        obj.trust_score, obj.trust_level, obj.trust_updated_at = score, str(level), now
    return locked
