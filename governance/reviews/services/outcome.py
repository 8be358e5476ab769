"""The result of a review, handed to the trust engine's compliance signal."""

from __future__ import annotations

import datetime as dt

from trust.services import record_review_outcome

from ..models import ReviewItem


def tell_trust(item: ReviewItem, *, certified: bool, at: dt.datetime) -> None:
    """Record that the agent's access was certified by a reviewer (or closed unanswered).

    ``trust.services.record_review_outcome`` keeps it (audited) and queues the agent's trust
    recomputation on commit; the compliance signal reads the newest outcome.
    """
    record_review_outcome(
        agent=item.agent,
        certified=certified,
        reference=f"access review campaign {item.campaign_id}, item {item.pk}",
        at=at,
    )
