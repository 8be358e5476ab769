"""Every state change of access reviews, each one transaction with its audit entry."""

from .campaigns import (
    MICRO_TRIGGERS,
    review_campaign_close,
    review_campaign_open,
    review_micro_open,
    reviews_schedule_due,
)
from .decide import (
    LineDecision,
    review_item_answer,
    review_item_decide,
    review_item_sign_off,
)
from .ladder import reviews_ladder_run
from .micro import reviews_micro_sweep

__all__ = [
    "MICRO_TRIGGERS",
    "LineDecision",
    "review_campaign_close",
    "review_campaign_open",
    "review_item_answer",
    "review_item_decide",
    "review_item_sign_off",
    "review_micro_open",
    "reviews_ladder_run",
    "reviews_micro_sweep",
    "reviews_schedule_due",
]
