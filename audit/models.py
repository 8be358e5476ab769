"""The audit entry: one row per thing that happened, never changed once chained."""

from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    """An attempt to change or delete an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are append-only")

    def delete(self):
        raise AppendOnlyError("audit entries are append-only")

    def unsequenced(self) -> "AuditEntryQuerySet":
        return self.filter(seq__isnull=True)

    def sequenced(self) -> "AuditEntryQuerySet":
        return self.filter(seq__isnull=False)


class AuditEntry(models.Model):
    """Who did what, to what, on whose behalf, with which outcome.

    Principals are strings (``agent:<slug>``, ``user:<username>``, ``system``) and ids are plain
    strings, never foreign keys, so an entry never changes when a row elsewhere does. ``seq``,
    ``prev_hash`` and ``hash`` are empty when the entry is written and are assigned exactly once
    by the sequencer, which chains committed entries in batches.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"
        PENDING = "pending", "Pending"

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=200)
    actor_id = models.CharField(max_length=64, blank=True)
    on_behalf_of = models.JSONField(default=list, blank=True)
    action = models.CharField(max_length=100)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    reason = models.TextField(blank=True)
    resource = models.CharField(max_length=300, blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    workflow_run = models.CharField(max_length=200, blank=True)
    token_jti = models.CharField(max_length=100, blank=True)
    credential_id = models.CharField(max_length=100, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["action", "created_at"]),
            # The sequencer's work queue: only the (few) unsequenced rows are in this index.
            models.Index(
                fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsequenced_idx"
            ),
            models.Index(fields=["actor", "created_at"], name="audit_actor_time_idx"),
            models.Index(fields=["resource", "created_at"], name="audit_resource_time_idx"),
            # Every index costs each record() INSERT and each sequencer UPDATE (which cannot be a
            # HOT update: seq is indexed). So no plain index on actor/resource/action (the
            # composites above lead with them) and no LIKE index except for the one prefix
            # search there is (action "decision.*").
            models.Index(
                fields=["action"], opclasses=["varchar_pattern_ops"], name="audit_action_prefix_idx"
            ),
            models.Index(fields=["workflow_run"], name="audit_workflow_run_idx"),
            models.Index(fields=["token_jti"], name="audit_token_jti_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.resource or self.target_id} → {self.outcome}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries are append-only")


class AuditCheckpointQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit checkpoints are append-only")

    def delete(self):
        raise AppendOnlyError("audit checkpoints are append-only")


class AuditCheckpoint(models.Model):
    """A signed statement of the chain head: "entry ``seq`` has hash ``hash``" (a compact JWS).

    An ``archive`` checkpoint also states that every entry up to ``seq`` was exported and
    removed; the remaining chain starts from it.
    """

    class Kind(models.TextChoices):
        PERIODIC = "periodic", "Periodic"
        ARCHIVE = "archive", "Archive"

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PERIODIC)
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    jws = models.TextField()
    key_id = models.CharField(max_length=100, blank=True)
    archived_from_seq = models.BigIntegerField(null=True, blank=True)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    archive_name = models.CharField(max_length=300, blank=True)

    objects = AuditCheckpointQuerySet.as_manager()

    class Meta:
        ordering = ["-seq", "-id"]
        indexes = [models.Index(fields=["kind", "seq"], name="audit_checkpoint_kind_seq_idx")]

    def __str__(self) -> str:
        return f"{self.kind} checkpoint at seq {self.seq}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit checkpoints are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit checkpoints are append-only")


class AuditWitnessMark(models.Model):
    """How far the witness (``AUDIT_WITNESS_URL``) has received the checkpoints, and its errors.

    Bookkeeping, not evidence: checkpoints are written to the witness in ``id`` order and this
    row remembers the last one written, so a failed write is retried from there and its age is
    visible (``audit.selectors.witness_lag``). Verification reads the witness itself.
    """

    witness = models.CharField(max_length=500, unique=True)  # the location, credentials removed
    checkpoint_id = models.BigIntegerField(default=0)  # the last checkpoint written to it
    published_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # consecutive failed runs
    last_error = models.TextField(blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"witness {self.witness} through checkpoint {self.checkpoint_id}"
