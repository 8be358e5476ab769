"""The facts other helpers' modules provide, read where they exist.

Attestations (``trust.attestations``) and observed configuration drift (an ``agents``
selector) are built in parallel with the engine; until a module is there its reader answers
None, and the signal says ``insufficient_data`` (attestations) or applies no cap (drift).
(Notices, ``agents.notices``, are on main and called directly.)
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
