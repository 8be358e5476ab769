"""The facts other helpers' modules provide, read where they exist.

Observed configuration drift (an ``agents`` selector) is built in parallel with the engine;
until it is there its reader answers None and no drift cap applies. Attestations
(``trust.attestations``) are read through here too, so the loader names one seam.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from .factors import Factor


def attestation_factors(agent_ids: Collection[int], *, at: dt.datetime) -> dict[int, list[Factor]]:
    """Each agent's attestation factors (bulk, one query): ``trust.attestations``'s own."""
    from .attestations.selectors import attestation_factors as read

    return read(agent_ids, at=at)


def unreviewed_drift(agent_ids: Collection[int]) -> dict[int, list[str]] | None:
    """Each agent's observed configuration digests that no person has reviewed, or None."""
    try:
        from agents.selectors import unreviewed_config_digests as read  # type: ignore[attr-defined]
    except ImportError:
        return None
    return read(agent_ids)
