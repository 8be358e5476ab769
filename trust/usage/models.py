"""Usage facts derived from the audit log: a consumer offset, hourly counters, totals, baselines.

Everything here can be rebuilt from the audit log (``manage.py usage rebuild``); nothing else
writes it. Resources and actions are kept as the strings the audit log names (the decision
point audits the resource's slug and the requested action, whose scope is ``resource:action``),
agents by id (resolved from ``agent:<slug>`` once per batch).
"""

from __future__ import annotations

from django.db import models

from agents.models import Agent

NO_CREDENTIAL = ""  # credential_id of events without one (a NULL would defeat the unique keys)
# Access reviews' evidence counts uses over these windows (``selectors.usage_evidence``): the
# hourly counters must be kept at least the longest of them (``TrustPolicy.usage_keep_days``).
EVIDENCE_WINDOWS_DAYS = (30, 90)
EVIDENCE_DAYS = max(EVIDENCE_WINDOWS_DAYS)


class UsageWatermark(models.Model):
    """How far a consumer of the audit log has got: its offset, moved with what it wrote.

    ``usage``: ``position`` is the last folded audit ``seq``; ``through`` the ``created_at`` of
    that entry. ``baselines``: ``position`` is the last hour (hours since the Unix epoch) folded
    into the baselines. ``usage_prune``: ``position`` is the last hour whose counters were
    deleted (``prune.usage_prune``).
    """

    name = models.CharField(max_length=32, primary_key=True)
    position = models.BigIntegerField(default=0)
    through = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"


class UsageHour(models.Model):
    """Counts of one agent's events in one hour, per resource, action and credential.

    Decisions carry the resource and the requested action (a use of the grant
    ``resource:action`` and of the connection to the resource); token issuance, refusal and
    failed client authentication have neither (``""``) and count against the credential.
    """

    # The key is the primary key: one index per row fewer than a surrogate id plus a unique
    # constraint (each index costs every upsert). Agent first: reviews read a set of agents.
    pk = models.CompositePrimaryKey("agent", "hour", "resource", "action", "credential_id")
    hour = models.DateTimeField()
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    resource = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=128, blank=True)
    credential_id = models.CharField(max_length=32, blank=True, default=NO_CREDENTIAL)
    allowed = models.PositiveIntegerField(default=0)
    denied = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    auth_failed = models.PositiveIntegerField(default=0)

    # The baselines read closed hours across every agent through an index on ``hour`` that
    # migration 0002 makes by hand: BRIN on PostgreSQL (rows arrive in hour order, so it costs
    # an upsert nearly nothing), a B-tree on SQLite.

    def __str__(self) -> str:
        return f"{self.agent_id} {self.resource}:{self.action} @ {self.hour:%Y-%m-%d %H}h"

    @property
    def decisions(self) -> int:
        return self.allowed + self.denied + self.pending


class UsageTotal(models.Model):
    """First and last sight of an agent × resource × action × credential, over all time.

    Kept apart from the hourly rows so "last used" survives their pruning; ``last_used_at`` is
    the last allowed decision (decision rows) or the last token issued (credential rows).
    """

    pk = models.CompositePrimaryKey("agent", "resource", "action", "credential_id")
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    resource = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=128, blank=True)
    credential_id = models.CharField(max_length=32, blank=True, default=NO_CREDENTIAL)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.agent_id} {self.resource}:{self.action} last {self.last_at:%Y-%m-%d}"


class UsageBaseline(models.Model):
    """An agent's usual number of decisions in one hour of the week, on one resource.

    ``resource`` ``""`` is the agent over all its resources. The mean and the mean square are
    exponentially weighted over weeks (one sample per week; weeks without activity are zeros,
    applied lazily when the slot is next read or updated). ``prev_*`` is the state before the
    latest sample, so the hour that sample came from is judged against what came before it.
    """

    pk = models.CompositePrimaryKey("agent", "resource", "hour_of_week")
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    resource = models.CharField(max_length=64, blank=True)
    hour_of_week = models.PositiveSmallIntegerField()  # 0 = Monday 00:00–01:00 UTC
    mean = models.FloatField(default=0.0)
    mean_sq = models.FloatField(default=0.0)
    week = models.IntegerField()  # the week of the latest sample (weeks since 1970-01-05)
    prev_mean = models.FloatField(default=0.0)
    prev_mean_sq = models.FloatField(default=0.0)
    prev_week = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.agent_id} {self.resource or '*'} h{self.hour_of_week}: {self.mean:.1f}"
