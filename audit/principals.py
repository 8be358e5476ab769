"""How principals are written down: ``agent:<slug>``, ``user:<username>``, ``system``."""

from __future__ import annotations

from typing import Any

SYSTEM = "system"


def user_principal(user: Any) -> str:
    """``user:<username>`` for an authenticated user, ``system`` for none."""
    if user is None or not getattr(user, "is_authenticated", False):
        return SYSTEM
    return f"user:{user.get_username()}"


def agent_principal(slug: str) -> str:
    return f"agent:{slug}"
