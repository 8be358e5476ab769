"""Reusable filters of notices and of the outbox."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Exists, OuterRef, Q


class NoticeQuerySet(models.QuerySet):
    def addressed_to(self, user) -> NoticeQuerySet:
        """Notices to the user or to a team the user is a member of (one query, subqueries)."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        from agents.models import Team

        teams = Team.objects.filter(group__user=user).values("pk")
        return self.filter(Q(user=user) | Q(team__in=teams))

    def with_read_state(self, user) -> NoticeQuerySet:
        """Annotate ``is_read`` for this user (an EXISTS, not a query per row)."""
        from .models import NoticeRead

        return self.annotate(
            is_read=Exists(NoticeRead.objects.filter(notice=OuterRef("pk"), user=user))
        )

    def unread_by(self, user) -> NoticeQuerySet:
        from .models import NoticeRead

        return self.exclude(Exists(NoticeRead.objects.filter(notice=OuterRef("pk"), user=user)))


class OutboxQuerySet(models.QuerySet):
    def due(self, now: dt.datetime, *, grace: dt.timedelta = dt.timedelta(0)) -> OutboxQuerySet:
        """Not delivered, not given up, not claimed (or its lease over), and available for at
        least ``grace``."""
        return self.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now),
            delivered_at__isnull=True,
            failed_at__isnull=True,
            available_at__lte=now - grace,
        )
