"""The facts other helpers' modules provide, read where they exist.

Attestations (``trust.attestations``) and observed configuration drift (an ``agents``
selector) are built in parallel with the engine; until a module is there its reader answers
None, and the signal says ``insufficient_data`` (attestations) or applies no cap (drift).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from .factors import Factor


def attestation_factors(
    agent_ids: Collection[int], *, at: dt.datetime
) -> dict[int, list[Factor]] | None:
    """Each agent's attestation factors (bulk), or None while attestations do not exist."""
    try:
        from trust.attestations.selectors import attestation_factors as read
    except ImportError:
        return None
    return read(agent_ids, at=at)


def unreviewed_drift(agent_ids: Collection[int]) -> dict[int, list[str]] | None:
    """Each agent's observed configuration digests that no person has reviewed, or None."""
    try:
        from agents.selectors import unreviewed_config_digests as read  # type: ignore[attr-defined]
    except ImportError:
        return None
    return read(agent_ids)


def notify_team(*, agent_id: int, kind: str, subject: str, body: str, dedupe_key: str) -> None:
    """Tell the agent's owning team (``agents.notices``), once that service exists."""
    try:
        from agents.notices.services import notify  # type: ignore[import-not-found]
    except ImportError:
        return
    from agents.models import Team

    team = Team.objects.filter(agents__id=agent_id).first()
    notify(kind=kind, subject=subject, body=body, team=team, dedupe_key=dedupe_key)
