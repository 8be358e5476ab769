"""Grant requests: the way a sensitive or critical scope reaches an agent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from agents.models import AgentVersion


class GrantRequest(models.Model):
    """A team's request for a scope for one of its agents, decided by a reviewer outside it.

    ``team`` is the agent's owning team when the request was opened: the team whose members
    may not decide it. An approved request carries out its ``grant`` in the same transaction.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="grant_requests"
    )
    scope = models.ForeignKey("agents.Scope", on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey("agents.Team", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    justification = models.TextField()
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    grant = models.OneToOneField(
        "agents.ScopeGrant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grant_request",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "scope"],
                condition=Q(status="pending"),
                name="grantrequest_one_pending_per_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} asks {self.scope_id}: {self.status}"


class ScopeReview(AgentVersion):
    """The admin's queue of versions' scope reviews (a proxy of ``AgentVersion``: no table).

    Deciding one is ``versions.scope_review_decide``, whatever the surface.
    """

    class Meta:
        proxy = True
        verbose_name = "scope review"
        verbose_name_plural = "scope reviews"
