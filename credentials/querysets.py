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
        """Credentials of the agents and resource servers whose team the user may see."""
        from agents.permissions import restrict

        return restrict(
            self.filter(agent__isnull=False), user, team_field="agent__owner_team"
        ) | restrict(self.filter(resource__isnull=False), user, team_field="resource__owner_team")

    def managed_by(self, user) -> CredentialQuerySet:
        """Credentials the user may issue, rotate and revoke (``manage_team`` on the owner)."""
        from agents.permissions import restrict

        return restrict(
            self.filter(agent__isnull=False), user, team_field="agent__owner_team", write=True
        ) | restrict(
            self.filter(resource__isnull=False),
            user,
            team_field="resource__owner_team",
            write=True,
        )
