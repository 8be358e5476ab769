"""Reusable filters over credentials."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone


class CredentialQuerySet(models.QuerySet):
    def usable(self, at: dt.datetime | None = None) -> CredentialQuerySet:
        """Credentials that authenticate right now (active, or a predecessor in its overlap)."""
        at = at or timezone.now()
        return self.filter(status__in=("active", "rotating"), not_before__lte=at).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=at)
        )

    def of_client(self, client_id: str) -> CredentialQuerySet:
        return self.filter(Q(agent__slug=client_id) | Q(resource__slug=client_id))

    def older_than(self, at: dt.datetime) -> CredentialQuerySet:
        return self.filter(created_at__lte=at)

    def visible_to(self, user) -> CredentialQuerySet:
        """Credentials of the agents and resources a user may see."""
        from agents.models import Agent
        from agents.permissions import can_see_everything

        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if can_see_everything(user):
            return self
        return self.filter(
            Q(agent__in=Agent.objects.visible_to(user)) | Q(resource__owner_team__members=user)
        ).distinct()
