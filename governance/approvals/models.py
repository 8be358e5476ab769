"""Approval requests: a human's yes or no on an action an agent's trust level does not cover."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApprovalRequest(models.Model):
    """One request by a PENDING agent to do ``action`` on a resource, awaiting a human.

    ``fingerprint`` identifies the request (agent, resource, action, cost, workflow run,
    delegation chain): while an approval or a refusal is within its window (``valid_until``),
    it answers every identical request, so an approved agent is not asked again and again.
    A pending request lapses at ``expires_at``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    fingerprint = models.CharField(max_length=64, db_index=True)
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="approval_requests"
    )
    resource = models.ForeignKey(
        "agents.Resource", on_delete=models.CASCADE, related_name="approval_requests"
    )
    connection = models.ForeignKey(
        "agents.Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    cost = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    workflow_run = models.CharField(max_length=200, blank=True)
    on_behalf_of = models.JSONField(default=list, blank=True)
    token_jti = models.CharField(max_length=100, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    trust_score = models.PositiveSmallIntegerField(default=0)
    trust_level = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Identical requests share one pending approval instead of flooding reviewers.
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_fingerprint",
            )
        ]
        indexes = [models.Index(fields=["fingerprint", "status", "valid_until"])]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.action} on {self.resource_id}: {self.status}"
