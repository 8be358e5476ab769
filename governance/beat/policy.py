"""The audit log's periodic tasks must keep running: what nobody may do to them.

Chaining (``audit.sequence``) and signing (``audit.checkpoint``) are what make the log
tamper-evident; a platform admin who could switch them off in the admin could stop the
signatures silently. A periodic task that runs one of them must stay enabled, on an interval
no longer than half its policy (so ``audit verify`` and ``/readyz`` never see it stale), on the
default queue, with no arguments, no expiry, no future start, not one-off; the last such task of
an audit task cannot be deleted, nor the interval it runs on. A change that would break this is
refused with the reasons, in the admin form and, as a last line, on any ``save()``.
What a raw SQL ``UPDATE`` does is not seen here: the stale checkpoint then shows in verification
and health.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

# task name -> the setting (seconds) it must keep up with
PROTECTED = {
    "audit.sequence": "AUDIT_SEQUENCER_MAX_LAG",
    "audit.checkpoint": "AUDIT_CHECKPOINT_MAX_AGE",
}
# The fields whose change can stop or slow a task (bookkeeping such as last_run_at is not one).
GUARDED = (
    "task",
    "enabled",
    "interval_id",
    "crontab_id",
    "solar_id",
    "clocked_id",
    "one_off",
    "start_time",
    "expires",
    "expire_seconds",
    "queue",
    "exchange",
    "routing_key",
    "args",
    "kwargs",
)


class ProtectedTaskError(Exception):
    """The change would stop or slow one of the audit log's periodic tasks."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def is_protected(task_name: str) -> bool:
    return task_name in PROTECTED


def max_interval(task_name: str) -> float:
    """The longest interval (seconds) the task may run at: half its policy."""
    return getattr(settings, PROTECTED[task_name]) / 2


def interval_seconds(interval: IntervalSchedule) -> float:
    return interval.schedule.run_every.total_seconds()


def _empty_json(text: Any, empty: Any) -> bool:
    try:
        return json.loads(text or json.dumps(empty)) == empty
    except (TypeError, ValueError):
        return False


def problems(task: PeriodicTask, *, interval: IntervalSchedule | None = None) -> list[str]:
    """Why ``task``, as it would be saved, would stop or slow an audit task ([] if it would not).

    ``interval``: the interval it runs on, if that is what is about to change.
    """
    if not is_protected(task.task):
        return []
    name, limit = task.task, max_interval(task.task)
    out = []
    if not task.enabled:
        out.append(f"{name} must stay enabled")
    if task.crontab_id or task.solar_id or task.clocked_id or not task.interval_id:
        out.append(f"{name} must run on an interval schedule")
    else:
        every = interval_seconds(interval or task.interval)
        if every > limit:
            out.append(
                f"{name} must run at least every {limit:.0f} s (half of {PROTECTED[name]}), "
                f"not every {every:.0f} s"
            )
    if task.one_off:
        out.append(f"{name} cannot be one-off")
    if task.expires or task.expire_seconds:
        out.append(f"{name} cannot expire")
    if task.start_time and task.start_time > timezone.now():
        out.append(f"{name} cannot start in the future")
    if task.queue or task.exchange or task.routing_key:
        out.append(f"{name} must go to the default queue")
    if not (_empty_json(task.args, []) and _empty_json(task.kwargs, {})):
        out.append(f"{name} takes no arguments")
    return out


def check_save(task: PeriodicTask, old: PeriodicTask | None) -> list[str]:
    """The reasons to refuse saving ``task`` over ``old`` (``None``: a new row)."""
    if old is not None:
        if all(getattr(old, f) == getattr(task, f) for f in GUARDED):
            return []  # bookkeeping only (beat's last_run_at, a description)
        if is_protected(old.task) and task.task != old.task:
            return [f"the periodic task of {old.task} cannot be given another task"]
    return problems(task)


def check_delete(task: PeriodicTask) -> list[str]:
    """The reasons to refuse deleting ``task``: it is the last good one of an audit task."""
    if not is_protected(task.task) or problems(task):
        return []
    others = PeriodicTask.objects.filter(task=task.task).exclude(pk=task.pk)
    if any(not problems(other) for other in others):
        return []
    return [f"{task.name!r} is what runs {task.task}: it cannot be deleted"]


def check_interval(interval: IntervalSchedule, *, deleting: bool = False) -> list[str]:
    """The reasons to refuse changing (or deleting) an interval an audit task runs on."""
    if interval.pk is None:
        return []
    users = PeriodicTask.objects.filter(interval_id=interval.pk, task__in=list(PROTECTED))
    out = []
    for task in users:
        if deleting:
            out.append(f"{task.task} runs on this interval: it cannot be deleted")
        else:
            out += [r for r in problems(task, interval=interval) if "at least every" in r]
    return out
