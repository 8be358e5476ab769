"""What a resource server asked, checked before anything is read: the 400s and the 403.

Bad input counts nothing and writes no audit entry (``DecisionInputError``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from agents.models import Resource

from ..errors import DecisionForbidden, DecisionInputError

ACTION_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_COST = Decimal("10000000000")  # Connection.budget_cap's range (14 digits, 4 decimals)


@dataclass(frozen=True)
class Asked:
    """A well-formed question: which agent token, which action on which resource, at what cost."""

    caller: Resource
    target: Resource
    action: str
    token: str
    amount: Decimal

    @property
    def scope_name(self) -> str:
        return f"{self.target.slug}:{self.action}"


def parse_cost(raw: Any) -> Decimal:
    """A cost in units, ≥ 0, at most 4 decimals; bad values are a 400."""
    if raw is None or raw == "":
        return Decimal(0)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise DecisionInputError("invalid_request", "cost must be a number")
    try:
        cost = Decimal(str(raw))
    except InvalidOperation:
        raise DecisionInputError("invalid_request", "cost must be a number") from None
    if not cost.is_finite():
        raise DecisionInputError("invalid_request", "cost must be a finite number")
    if cost < 0:
        raise DecisionInputError("invalid_request", "cost must not be negative")
    if cost > MAX_COST or cost != cost.quantize(Decimal("0.0001")):
        raise DecisionInputError(
            "invalid_request", "cost must be at most 10^10 with at most 4 decimals"
        )
    return cost


def resource_for(caller: Resource, resource: Any) -> Resource:
    """The resource asked about (slug or audience): the caller's own, else 403 or 400."""
    if resource in (caller.slug, caller.audience):
        return caller
    if not isinstance(resource, str) or not resource:
        raise DecisionInputError("invalid_request", "resource is required")
    # Slugs and audiences are printable: anything else is no resource of ours, and is not looked
    # up (PostgreSQL refuses a NUL in text: the lookup would fail the request with a 503).
    if resource.isprintable() and (
        Resource.objects.filter(slug=resource).exists()
        or Resource.objects.filter(audience=resource).exists()
    ):
        raise DecisionForbidden(
            "forbidden", "a resource server may only ask about its own resource"
        )
    raise DecisionInputError("invalid_request", f"unknown resource {resource[:100]!r}")


def parse(*, caller: Resource, token: Any, action: Any, resource: Any, cost: Any) -> Asked:
    """The question, checked in this order: action, token, cost, resource."""
    if not isinstance(action, str) or not ACTION_RE.match(action):
        raise DecisionInputError("invalid_request", "action must be a lowercase action name")
    if not isinstance(token, str) or not token:
        raise DecisionInputError("invalid_request", "token is required")
    amount = parse_cost(cost)
    target = resource_for(caller, resource)
    return Asked(caller=caller, target=target, action=action, token=token, amount=amount)
