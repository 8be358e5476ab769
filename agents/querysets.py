"""Reusable filters over the registry."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class AgentQuerySet(models.QuerySet):
    def active(self) -> AgentQuerySet:
        return self.filter(status="active")

    def visible_to(self, user) -> AgentQuerySet:
        """Agents a user may see: reviewers and admins see all, members their teams' agents."""
        from .permissions import restrict

        return restrict(self, user, team_field="owner_team")

    def managed_by(self, user) -> AgentQuerySet:
        """Agents a user may change: admins all, members their teams' agents."""
        from .permissions import restrict

        return restrict(self, user, team_field="owner_team", write=True)


class ScopeGrantQuerySet(models.QuerySet):
    def active(self, at=None) -> ScopeGrantQuerySet:
        at = at or timezone.now()
        return self.filter(status="active").filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=at)
        )

    def lapsed(self, at=None) -> ScopeGrantQuerySet:
        at = at or timezone.now()
        return self.filter(status="active", expires_at__lte=at)
