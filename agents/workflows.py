"""Workflows and their runs: the business processes that run agents, and the runs tokens bind to.

Imported by ``agents.models`` (load that first: this module builds on ``Team``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .models import Team, slug_validator


class Workflow(models.Model):
    """A business process that runs agents (``workflow:monthly-close``)."""

    slug = models.SlugField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="workflows")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class WorkflowRun(models.Model):
    """One run of a workflow; task-scoped tokens are bound to it and die with it."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="runs")
    run_id = models.SlugField(max_length=100, unique=True)
    triggered_by = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Named when the run starts, never changed: only these agents may bind tokens to the run
    # (token exchange checks that the subject and the calling agent are both here).
    participants = models.ManyToManyField("Agent", related_name="runs", blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.run_id

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.RUNNING and (
            self.deadline is None or self.deadline > timezone.now()
        )
