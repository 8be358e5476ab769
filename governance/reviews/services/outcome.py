"""The result of a review, handed to the trust engine's compliance signal."""

from __future__ import annotations

import datetime as dt

from ..models import ReviewItem


def tell_trust(item: ReviewItem, *, certified: bool, at: dt.datetime) -> None:
    """Record that the agent's access was certified by a reviewer (or closed unanswered).

    TODO(reviews): call ``trust.services.record_review_outcome(agent=, certified=,
    reference=, at=)`` once the trust helper lands it on main (CONTRACTS.md).
    """
    return None
