"""Who a management command acts as: the person ``--by`` names, audited as ``user:NAME``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def acting_user(username: str | None, *, required: bool = False) -> Any:
    """The named active user. Without a name the command acts as ``system`` (``None``), unless
    ``required``: an unknown, inactive or missing name is an error that changes nothing."""
    if not username and not required:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {username!r}")
    return user
