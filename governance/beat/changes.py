"""Audit of every change to the beat schedule, and the guard of the audit log's own tasks.

django-celery-beat's models belong to no app of ours, so their writes have no service to call
``record()``: the admin, ``sync_schedule``, the shell and beat itself all end in
``Model.save``/``delete``. As ``audit.auth_changes`` does for users, a change or deletion is
written before it happens (``pre_save``/``pre_delete``), so it cannot happen without its entry
(a new row right after its INSERT, once it has an id, in the admin's transaction), and the
policy (``governance.beat.policy``) is checked there too, so no ``save()`` can stop an audit
task. Beat's own bookkeeping saves (``last_run_at``, ``total_run_count``) change no audited field
and write nothing. ``QuerySet.update()`` bypasses signals: nothing of ours uses it on these
models (the admin's bulk actions save row by row).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_delete, pre_save
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from audit import context
from audit.changes import diff, snapshot
from audit.services import record

from .policy import GUARDED, ProtectedTaskError, check_delete, check_interval, check_save

TASK_FIELDS = (*GUARDED, "name", "description", "headers", "priority")
SCHEDULE_FIELDS: dict[type, tuple[str, ...]] = {
    IntervalSchedule: ("every", "period"),
    CrontabSchedule: ("minute", "hour", "day_of_week", "day_of_month", "month_of_year", "timezone"),
    SolarSchedule: ("event", "latitude", "longitude"),
    ClockedSchedule: ("clocked_time",),
}
SCHEDULE_NAMES = {
    IntervalSchedule: "interval",
    CrontabSchedule: "crontab",
    SolarSchedule: "solar",
    ClockedSchedule: "clocked",
}


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly values (a crontab's time zone as its name)."""
    return {
        k: v if isinstance(v, str | int | float | bool | type(None)) else str(v)
        for k, v in values.items()
    }


def _record(action: str, instance: Any, what: str, changes: dict[str, Any] | None = None) -> None:
    record(
        actor=context.current_actor(),
        action=action,
        resource="celery:beat",
        target_type=what,
        target_id=instance.pk or "",
        changes=changes or {},
        context_data={"name": str(instance)},
    )


def _task_before_save(sender, instance: PeriodicTask, raw=False, **kwargs) -> None:
    if raw:
        return
    old = PeriodicTask.objects.filter(pk=instance.pk).first() if instance.pk else None
    reasons = check_save(instance, old)
    if reasons:
        raise ProtectedTaskError(reasons)
    if old is None:
        return  # recorded once it has an id (post_save)
    changes = diff(
        _jsonable(snapshot(old, TASK_FIELDS)), _jsonable(snapshot(instance, TASK_FIELDS))
    )
    if changes:
        _record("schedule.task.change", instance, "periodic_task", changes)


def _created(sender, instance, created=False, raw=False, **kwargs) -> None:
    """A new row, once it has its id: same transaction as the INSERT in the admin."""
    if raw or not created:
        return
    fields = TASK_FIELDS if sender is PeriodicTask else SCHEDULE_FIELDS[sender]
    what = "task" if sender is PeriodicTask else SCHEDULE_NAMES[sender]
    changes = diff({}, _jsonable(snapshot(instance, fields)))
    target = "periodic_task" if sender is PeriodicTask else "schedule"
    _record(f"schedule.{what}.create", instance, target, changes)


def _task_before_delete(sender, instance: PeriodicTask, **kwargs) -> None:
    reasons = check_delete(instance)
    if reasons:
        raise ProtectedTaskError(reasons)
    _record(
        "schedule.task.delete",
        instance,
        "periodic_task",
        diff(_jsonable(snapshot(instance, TASK_FIELDS)), {}),
    )


def _schedule_before_save(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    fields = SCHEDULE_FIELDS[sender]
    old = sender.objects.filter(pk=instance.pk).first() if instance.pk else None
    if sender is IntervalSchedule and old is not None:
        reasons = check_interval(instance)
        if reasons:
            raise ProtectedTaskError(reasons)
    if old is None:
        return  # recorded once it has an id (post_save)
    changes = diff(_jsonable(snapshot(old, fields)), _jsonable(snapshot(instance, fields)))
    if changes:
        _record(f"schedule.{SCHEDULE_NAMES[sender]}.change", instance, "schedule", changes)


def _schedule_before_delete(sender, instance, **kwargs) -> None:
    if sender is IntervalSchedule:
        reasons = check_interval(instance, deleting=True)
        if reasons:
            raise ProtectedTaskError(reasons)
    _record(f"schedule.{SCHEDULE_NAMES[sender]}.delete", instance, "schedule")


def connect() -> None:
    """Hook the receivers up (from ``GovernanceConfig.ready``)."""
    uid = "governance.beat"
    pre_save.connect(_task_before_save, sender=PeriodicTask, dispatch_uid=f"{uid}.task.save")
    post_save.connect(_created, sender=PeriodicTask, dispatch_uid=f"{uid}.task.created")
    pre_delete.connect(_task_before_delete, sender=PeriodicTask, dispatch_uid=f"{uid}.task.delete")
    for model, name in SCHEDULE_NAMES.items():
        pre_save.connect(_schedule_before_save, sender=model, dispatch_uid=f"{uid}.{name}.save")
        post_save.connect(_created, sender=model, dispatch_uid=f"{uid}.{name}.created")
        pre_delete.connect(
            _schedule_before_delete, sender=model, dispatch_uid=f"{uid}.{name}.delete"
        )
