"""Template filters of the portal: amounts with their unit, reason codes in words."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

from governance.decisions.policy import MESSAGES

register = template.Library()


@register.filter
def money(value) -> str:
    """``Decimal("900.0000")`` → ``"900.00 EUR"``: two decimals, four only when they matter."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    places = 4 if amount != amount.quantize(Decimal("0.01")) else 2
    return f"{amount:,.{places}f} {settings.BUDGET_UNIT}"


@register.filter
def reason_text(code) -> str:
    """A decision's machine-readable reason (``trust_below_floor``) as a sentence."""
    code = str(code)
    if code in MESSAGES:
        return MESSAGES[code]
    return code.replace("_", " ").capitalize() + "."


@register.simple_tag
def budget_unit() -> str:
    """The unit of budgets and costs (``BUDGET_UNIT``), for labels."""
    return settings.BUDGET_UNIT


@register.simple_tag(takes_context=True)
def unread_notices(context) -> int:
    """The header's unread count: one COUNT query, only on pages that show the header."""
    from agents.notices.selectors import unread_count

    user = context.get("user")
    return unread_count(user) if user is not None and user.is_authenticated else 0
