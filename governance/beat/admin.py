"""django-celery-beat's admin pages for platform admins, with the audit tasks kept running.

The pages are beat's own; what changes: only platform admins see them (like policy); the
periodic task and interval forms refuse, with the reasons, what ``policy`` forbids; delete is
not offered where it is forbidden (the delete view and the bulk action both ask
``has_delete_permission`` for every object, cascades included); the enable, disable and toggle
actions save row by row (beat's own use ``QuerySet.update``, which no signal sees, so they were
neither audited nor guarded) after checking every row; "run now" is audited.
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.forms.models import construct_instance
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from agents.permissions import is_platform_admin
from audit import context
from audit.services import record

from .policy import check_delete, check_interval, check_save


class PlatformAdminsOnly:
    """Scheduled work is platform configuration: platform admins only, like the policy."""

    def has_module_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_staff) and is_platform_admin(
            request.user
        )

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request, *args) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)


def _candidate(form):
    """The row as the form would save it, without saving it."""
    return construct_instance(form, copy.copy(form.instance))


class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
    def clean(self):
        data = super().clean()
        if not self.errors:
            old = PeriodicTask.objects.filter(pk=self.instance.pk).first()
            for reason in check_save(_candidate(self), old):
                self.add_error(None, reason)
        return data


class PeriodicTaskAdmin(PlatformAdminsOnly, beat_admin.PeriodicTaskAdmin):
    form = PeriodicTaskForm

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or not check_delete(obj))

    def _set_enabled(self, request, queryset, value) -> None:
        """Every row checked first, then each saved (audited); nothing changes if one may not."""
        tasks = list(queryset)
        changes = []
        for task in tasks:
            candidate = copy.copy(task)
            candidate.enabled = value(task)
            reasons = check_save(candidate, task)
            if reasons:
                self.message_user(
                    request, f"Nothing changed: {'; '.join(reasons)}.", messages.ERROR
                )
                return
            changes.append(candidate)
        with transaction.atomic():
            for candidate in changes:
                candidate.save()
        self.message_user(request, f"{len(changes)} task(s) changed.")

    @admin.action(description="Enable selected tasks")
    def enable_tasks(self, request, queryset):
        self._set_enabled(request, queryset, lambda task: True)

    @admin.action(description="Disable selected tasks")
    def disable_tasks(self, request, queryset):
        self._set_enabled(request, queryset, lambda task: False)

    @admin.action(description="Toggle activity of selected tasks")
    def toggle_tasks(self, request, queryset):
        self._set_enabled(request, queryset, lambda task: not task.enabled)

    @admin.action(description="Run selected tasks")
    def run_tasks(self, request, queryset):
        for task in queryset:
            record(
                actor=context.current_actor(),
                action="schedule.task.run",
                resource="celery:beat",
                target_type="periodic_task",
                target_id=task.pk,
                context_data={"name": task.name, "task": task.task},
            )
        return super().run_tasks(request, queryset)


class IntervalForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        if not self.errors and self.instance.pk:
            for reason in check_interval(_candidate(self)):
                self.add_error(None, reason)
        return data


class IntervalScheduleAdmin(PlatformAdminsOnly, beat_admin.IntervalScheduleAdmin):
    form = IntervalForm

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or not check_interval(obj, deleting=True))


class CrontabScheduleAdmin(PlatformAdminsOnly, beat_admin.CrontabScheduleAdmin):
    pass


class SolarScheduleAdmin(PlatformAdminsOnly, beat_admin.SolarScheduleAdmin):
    pass


class ClockedScheduleAdmin(PlatformAdminsOnly, beat_admin.ClockedScheduleAdmin):
    pass


def register(site: admin.AdminSite = admin.site) -> None:
    """Put these in place of django-celery-beat's registrations."""
    for model, model_admin in (
        (PeriodicTask, PeriodicTaskAdmin),
        (IntervalSchedule, IntervalScheduleAdmin),
        (CrontabSchedule, CrontabScheduleAdmin),
        (SolarSchedule, SolarScheduleAdmin),
        (ClockedSchedule, ClockedScheduleAdmin),
    ):
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
