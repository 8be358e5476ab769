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
        from .permissions import can_see_everything

        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if can_see_everything(user):
            return self
        return self.filter(owner_team__members=user)


class ScopeGrantQuerySet(models.QuerySet):
    def active(self, at=None) -> ScopeGrantQuerySet:
        at = at or timezone.now()
        return self.filter(status="active").filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=at)
        )

    def lapsed(self, at=None) -> ScopeGrantQuerySet:
        at = at or timezone.now()
        return self.filter(status="active", expires_at__lte=at)
