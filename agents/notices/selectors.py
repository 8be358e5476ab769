"""Reads of notices for the inbox, the header's unread count and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notice


def notices_for(user) -> QuerySet[Notice]:
    """The user's notices (to them or to their teams), newest first, with ``is_read``."""
    return (
        Notice.objects.addressed_to(user)
        .with_read_state(user)
        .select_related("team", "user")
        .order_by("-created_at", "-pk")
    )


def unread_count(user) -> int:
    """How many of the user's notices they have not read: one COUNT query."""
    return Notice.objects.addressed_to(user).unread_by(user).count()
