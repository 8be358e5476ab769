"""Reads of the registry composed for screens and endpoints (writes are in ``services``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from .filters import AgentFilter
from .models import Agent
from .permissions import teams_visible_to


def agents_visible(user: Any) -> QuerySet[Agent]:
    """The agents ``user`` may see, with what a list shows of each (team, current version)."""
    return Agent.objects.visible_to(user).select_related("owner_team", "current_version")


def agents_filtered(user: Any, params: Mapping[str, Any] | None) -> AgentFilter:
    """The agents ``user`` may see, filtered by ``params`` (``.qs``; ``.form`` to show them).

    A value that does not validate leaves out its own filter only; the API instead refuses it
    (400) through ``DjangoFilterBackend`` with the same ``AgentFilter``.
    """
    teams = teams_visible_to(user).order_by("name")
    return AgentFilter(params or None, queryset=agents_visible(user), teams=teams)
