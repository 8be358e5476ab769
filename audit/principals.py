"""How principals are written down: ``agent:<slug>``, ``user:<username>``, ``system``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

SYSTEM = "system"

# Who a service acts for (its ``by`` argument): a signed-in user; a principal its caller has
# already authenticated and written down (``system:cli``, ``agent:<slug>``); or None (``system``).
By: TypeAlias = "AbstractBaseUser | AnonymousUser | str | None"


def user_principal(user: Any) -> str:
    """``user:<username>`` for an authenticated user, ``system`` for none."""
    if user is None or not getattr(user, "is_authenticated", False):
        return SYSTEM
    return f"user:{user.get_username()}"


def actor_principal(by: By) -> str:
    """The principal a service's audit entry names for ``by``: a string as it was written."""
    return by if isinstance(by, str) else user_principal(by)


def agent_principal(slug: str) -> str:
    return f"agent:{slug}"
