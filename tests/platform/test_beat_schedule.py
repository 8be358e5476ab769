"""The beat schedule in the admin: every change audited, the audit log's tasks kept running.

Issue 13, item 3: a platform admin could disable "Sign audit checkpoint" in the admin and
nothing was audited. Everything here goes through the admin as a logged-in platform admin (or
``save()`` from a shell), as that admin would.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from audit import chain, selectors
from audit.models import AuditEntry
from audit.services import record
from governance.beat.policy import ProtectedTaskError
from governance.schedule import sync_schedule
from tests.factories import platform_admin, security_reviewer, team_member

pytestmark = pytest.mark.django_db

TASKS = "/admin/django_celery_beat/periodictask/"
INTERVALS = "/admin/django_celery_beat/intervalschedule/"
# The schedule pages' read-only inline of the tasks using it, empty.
NO_INLINE = {
    f"periodictask_set-{k}": v
    for k, v in {
        "TOTAL_FORMS": "0",
        "INITIAL_FORMS": "0",
        "MIN_NUM_FORMS": "0",
        "MAX_NUM_FORMS": "0",
    }.items()
}


@pytest.fixture
def schedule():
    """The project's schedule, as `bin/up` creates it (its creation is audited too)."""
    AUDITED_BEFORE[:] = [0]
    sync_schedule()
    assert _entries("schedule.task.create").count() == PeriodicTask.objects.count()
    AUDITED_BEFORE[:] = [AuditEntry.objects.order_by("-id").values_list("id", flat=True)[0]]
    return {t.task: t for t in PeriodicTask.objects.all()}


AUDITED_BEFORE = [0]


@pytest.fixture
def admin_client(client):
    user = platform_admin()
    client.force_login(user)
    client.user = user
    return client


def _form(row: PeriodicTask, **overrides) -> dict:
    """The periodic task's change form as the admin page posts it, with ``overrides``."""
    task = row
    data = {
        "name": task.name,
        "regtask": "",
        "task": task.task,
        "enabled": task.enabled,
        "description": task.description,
        "interval": task.interval_id or "",
        "crontab": "",
        "solar": "",
        "clocked": "",
        "start_time_0": "",
        "start_time_1": "",
        "one_off": task.one_off,
        "args": task.args,
        "kwargs": task.kwargs,
        "expires_0": "",
        "expires_1": "",
        "expire_seconds": "",
        "queue": "",
        "exchange": "",
        "routing_key": "",
        "priority": "",
        "headers": task.headers or "{}",
    }
    data.update(overrides)
    return {k: ("on" if v is True else v) for k, v in data.items() if v is not False}


def _entries(action: str):
    """Entries for ``action`` since the schedule was set up."""
    return AuditEntry.objects.filter(action=action, id__gt=AUDITED_BEFORE[0]).order_by("id")


def test_the_form_posts_as_the_admin_page_does(admin_client, schedule):
    task = schedule["audit.checkpoint"]
    response = admin_client.post(f"{TASKS}{task.pk}/change/", _form(task, description="signs"))
    assert response.status_code == 302, response.content.decode()[:2000]
    task.refresh_from_db()
    assert task.description == "signs"


@pytest.mark.parametrize("task_name", ["audit.checkpoint", "audit.sequence"])
def test_the_audit_tasks_cannot_be_disabled_or_slowed_in_the_admin(
    admin_client, schedule, task_name
):
    task = schedule[task_name]
    daily, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.DAYS)
    attempts = {
        "must stay enabled": {"enabled": False},
        "must run at least every": {"interval": daily.pk},
        "cannot be one-off": {"one_off": True},
        "must go to the default queue": {"queue": "nobody-listens"},
        "takes no arguments": {"kwargs": '{"seconds": 0}'},
        "cannot be given another task": {"task": "agents.expire_grants"},
    }
    for message, change in attempts.items():
        response = admin_client.post(f"{TASKS}{task.pk}/change/", _form(task, **change))
        assert response.status_code == 200, message  # the form again, with the reason
        assert message in response.content.decode(), message
    fresh = PeriodicTask.objects.get(pk=task.pk)
    assert (fresh.enabled, fresh.interval_id, fresh.one_off, fresh.queue, fresh.task) == (
        True,
        task.interval_id,
        False,
        None,
        task_name,
    )
    assert not _entries("schedule.task.change").exists()


def test_bulk_actions_check_every_row_first(admin_client, schedule):
    rows = [schedule["audit.checkpoint"].pk, schedule["agents.expire_grants"].pk]
    for action in ("disable_tasks", "toggle_tasks"):
        response = admin_client.post(
            TASKS, {"action": action, "_selected_action": rows}, follow=True
        )
        assert "Nothing changed: audit.checkpoint must stay enabled" in response.content.decode()
    assert PeriodicTask.objects.filter(pk__in=rows, enabled=True).count() == 2
    assert not _entries("schedule.task.change").exists()


def test_the_audit_tasks_and_their_intervals_cannot_be_deleted(admin_client, schedule):
    task = schedule["audit.checkpoint"]
    assert admin_client.get(f"{TASKS}{task.pk}/delete/").status_code == 403
    response = admin_client.post(
        TASKS, {"action": "delete_selected", "_selected_action": [task.pk], "post": "yes"}
    )
    assert response.status_code == 403
    every_second = schedule["audit.sequence"].interval
    assert admin_client.get(f"{INTERVALS}{every_second.pk}/delete/").status_code == 403
    # Stretching the interval they run on is stretching them.
    response = admin_client.post(
        f"{INTERVALS}{every_second.pk}/change/", {"every": 1, "period": "hours", **NO_INLINE}
    )
    assert response.status_code == 200
    assert "audit.sequence must run at least every 15 s" in response.content.decode()
    every_second.refresh_from_db()
    assert (every_second.every, every_second.period) == (1, IntervalSchedule.SECONDS)
    assert PeriodicTask.objects.filter(pk=task.pk).exists()


def test_every_change_to_the_schedule_is_audited(admin_client, schedule):
    from governance.celery import app as celery_app

    who = f"user:{admin_client.user.username}"
    grants = schedule["agents.expire_grants"]
    response = admin_client.post(f"{TASKS}{grants.pk}/change/", _form(grants, enabled=False))
    assert response.status_code == 302
    entry = _entries("schedule.task.change").get()
    assert (entry.actor, entry.resource, entry.target_id) == (who, "celery:beat", str(grants.pk))
    assert entry.changes["enabled"] == [True, False]

    admin_client.post(TASKS, {"action": "enable_tasks", "_selected_action": [grants.pk]})
    assert _entries("schedule.task.change").last().changes["enabled"] == [False, True]

    response = admin_client.post(f"{INTERVALS}add/", {"every": 7, "period": "minutes", **NO_INLINE})
    assert response.status_code == 302
    created = _entries("schedule.interval.create").get()
    assert created.actor == who and created.changes["every"] == [None, 7]
    weekly = IntervalSchedule.objects.get(every=7)
    response = admin_client.post(f"{TASKS}add/", _form(grants, name="extra", interval=weekly.pk))
    assert response.status_code == 302
    extra = PeriodicTask.objects.get(name="extra")
    assert _entries("schedule.task.create").get().target_id == str(extra.pk)
    response = admin_client.post(f"{TASKS}{extra.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert _entries("schedule.task.delete").get().changes["name"] == ["extra", None]
    eager, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, True
    try:  # "run now", in this process
        admin_client.post(TASKS, {"action": "run_tasks", "_selected_action": [grants.pk]})
    finally:
        celery_app.conf.task_always_eager = eager
    assert _entries("schedule.task.run").get().actor == who


def test_only_platform_admins_see_the_schedule(client, schedule):
    for user in (security_reviewer(), team_member()):
        client.force_login(user)
        assert client.get(TASKS).status_code == 403
        assert client.get(INTERVALS).status_code == 403


def test_a_shell_save_is_guarded_and_audited_and_beat_bookkeeping_is_not(schedule):
    from django_celery_beat.schedulers import ModelEntry

    from governance.celery import app

    task = schedule["audit.checkpoint"]
    task.enabled = False
    with pytest.raises(ProtectedTaskError, match="must stay enabled"), transaction.atomic():
        task.save()
    with pytest.raises(ProtectedTaskError, match="cannot be deleted"), transaction.atomic():
        PeriodicTask.objects.get(pk=task.pk).delete()
    with pytest.raises(ProtectedTaskError, match="runs on this interval"), transaction.atomic():
        IntervalSchedule.objects.get(pk=task.interval_id).delete()
    assert PeriodicTask.objects.get(pk=task.pk).enabled
    assert not _entries("schedule.task.change").exists()
    assert not _entries("schedule.task.delete").exists()

    # Beat records each run on the row; that is not a change anyone made.
    next(ModelEntry(PeriodicTask.objects.get(pk=task.pk), app=app)).save()
    assert PeriodicTask.objects.get(pk=task.pk).total_run_count == 1
    assert not _entries("schedule.task.change").exists()


def test_what_sql_does_behind_the_admin_shows_as_stale_and_sync_schedule_repairs_it(schedule):
    from governance.auditlog.tasks import checkpoint

    record(actor="agent:bot", action="decision.allow")
    chain.sequence_pending()
    checkpoint.apply()
    # No signal sees a QuerySet.update (nor raw SQL): signing stops without a trace here ...
    PeriodicTask.objects.filter(task="audit.checkpoint").update(enabled=False)
    later = timezone.now() + dt.timedelta(minutes=20)
    # ... and the checkpoint going stale is what shows (and fails `audit verify`: test_rewrite).
    assert selectors.chain_health().ok
    assert selectors.chain_health(now=later).checkpoint_stale
    assert not selectors.chain_health(now=later).ok

    assert sync_schedule() == ["Sign audit checkpoint"]  # restored, audited as the system
    assert PeriodicTask.objects.get(task="audit.checkpoint").enabled
    entry = _entries("schedule.task.change").get()
    assert entry.actor == "system" and entry.changes["enabled"] == [False, True]
