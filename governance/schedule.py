"""The beat schedule, as data: every periodic task of every app, stored in django-celery-beat.

``manage.py sync_schedule`` (run by the start command and safe to re-run) creates the rows that
are missing and leaves alone what an admin has since changed (interval, enabled), so the
schedule stays editable in the admin — except for the audit log's own tasks, which it puts back
if anything stopped or slowed them (``governance.beat.policy``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str
    every_seconds: int
    description: str


SCHEDULE: tuple[Periodic, ...] = (
    Periodic(
        name="Chain audit entries",
        task="audit.sequence",
        every_seconds=1,
        description="Sequencer: gives committed audit entries their seq and hash (drains ~1 s).",
    ),
    Periodic(
        name="Sign audit checkpoint",
        task="audit.checkpoint",
        every_seconds=60,
        description="Signs the audit chain head with the platform key when it has moved.",
    ),
    Periodic(
        name="Fold usage facts",
        task="trust.fold_usage",
        every_seconds=10,
        description="Folds sequenced audit entries past the watermark into hourly usage "
        "counters, then closed hours into each agent's baselines.",
    ),
    Periodic(
        name="Recompute trust",
        task="trust.recompute_all",
        every_seconds=900,
        description="Ends expired trust pins, then sends every span of 2,000 agents to the "
        "workers as its own task (trust.recompute_span), which recompute their trust score and "
        "level (a history row only where the outcome changed).",
    ),
    Periodic(
        name="Prune trust history and usage",
        task="trust.prune",
        every_seconds=86400,
        description="Deletes trust history rows and hourly usage counters older than the trust "
        "policy's retention windows (keeping each agent's latest row and, longer, its level "
        "changes), in batches, with one audit entry per run.",
    ),
    Periodic(
        name="Expire lapsed scope grants",
        task="agents.expire_grants",
        every_seconds=60,
        description="Marks grants whose expires_at has passed as expired, with an audit entry.",
    ),
    Periodic(
        name="Deliver undelivered notices",
        task="notices.sweep_outbox",
        every_seconds=60,
        description="Sends notice emails no task sent (never queued, lost, or due for a "
        "retry after a failure); each row is claimed atomically, so nothing goes out twice.",
    ),
    Periodic(
        name="Credential rotation sweep",
        task="credentials.rotation_sweep",
        every_seconds=300,
        description="Flags credentials nearing their maximum age (notice to the owning team) "
        "and expires rotated predecessors once their overlap has ended.",
    ),
    Periodic(
        name="Rotate signing keys",
        task="credentials.rotate_signing_keys",
        every_seconds=3600,
        description="Keeps the next signing key published, promotes it when due, and drops "
        "retired keys from the JWKS after their last token expired.",
    ),
    Periodic(
        name="Expire approval requests",
        task="approvals.expire",
        every_seconds=300,
        description="Marks pending approval requests past their expiry as expired, audited.",
    ),
    Periodic(
        name="Sweep decision counters",
        task="decisions.sweep_counters",
        every_seconds=3600,
        description="Deletes database rate/budget counters whose window or period has ended.",
    ),
    Periodic(
        name="Open scheduled access reviews",
        task="reviews.schedule",
        every_seconds=86400,
        description="Opens the all-agents access review campaign when the review policy's "
        "interval (quarterly by default, editable in the admin) has passed since the last.",
    ),
    Periodic(
        name="Access review non-response ladder",
        task="reviews.ladder",
        every_seconds=3600,
        description="Reminders, escalation to platform admins, quarantine and finally the "
        "policy's outcome for review items nobody signed off, by risk.",
    ),
    Periodic(
        name="Open micro-reviews",
        task="reviews.micro_sweep",
        every_seconds=3600,
        description="Opens a one-agent review for agents whose team has no active member, "
        "whose level dropped to untrusted, or that are dormant past the review policy.",
    ),
    Periodic(
        name="Clean up token caches",
        task="credentials.cleanup_tokens",
        every_seconds=600,
        description="Deletes expired assertion jtis (replay cache) and revoked jtis of "
        "tokens that have expired anyway.",
    ),
)


def sync_schedule() -> list[str]:
    """Create the missing periodic tasks and restore the audit log's own; returns their names.

    An admin's edits to the other tasks stay. The audit tasks (``governance.beat.policy``) are
    put back on their schedule if anything (a raw SQL update, say) stopped or slowed them; the
    restoring save is audited like any other change.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from governance.beat.policy import is_protected, problems

    changed = []
    for item in SCHEDULE:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=item.every_seconds, period=IntervalSchedule.SECONDS
        )
        task, was_created = PeriodicTask.objects.get_or_create(
            name=item.name,
            defaults={"task": item.task, "interval": interval, "description": item.description},
        )
        if was_created:
            changed.append(item.name)
        elif is_protected(item.task) and (task.task != item.task or problems(task)):
            _restore(task, item, interval)
            changed.append(item.name)
    return changed


def _restore(task, item: Periodic, interval) -> None:
    task.task, task.enabled, task.interval = item.task, True, interval
    task.crontab = task.solar = task.clocked = None
    task.one_off, task.start_time, task.expires, task.expire_seconds = False, None, None, None
    task.queue = task.exchange = task.routing_key = None
    task.args, task.kwargs = "[]", "{}"
    task.save()
