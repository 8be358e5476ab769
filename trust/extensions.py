"""The facts other parts of the project provide to the engine, read in bulk.

Attestations (``trust.attestations``) and observed configuration drift (``agents.drift``) are
built by other parts; the loader reads both through here, so it names one seam for each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from .factors import Factor


def attestation_factors(agent_ids: Collection[int], *, at: dt.datetime) -> dict[int, list[Factor]]:
    """Each agent's attestation factors (bulk, one query): ``trust.attestations``'s own."""
    from .attestations.selectors import attestation_factors as read

    return read(agent_ids, at=at)


def unreviewed_drift(agent_ids: Collection[int]) -> dict[int, list[str]]:
    """Each agent's observed configuration digests that no person has reviewed (one query)."""
    from agents.drift.selectors import unreviewed_configurations

    return {
        agent_id: [row.digest for row in rows]
        for agent_id, rows in unreviewed_configurations(agent_ids).items()
    }
