"""Shared admin machinery: coloured badges and a ModelAdmin whose writes go through services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.html import format_html

from ..errors import RegistryError
from ..permissions import (
    TeamScopedAdminMixin,
    agents_managed_by,
    has_any_role,
    is_platform_admin,
)

# Tones by meaning: green is fine, amber needs attention, red is bad or dangerous, grey is off.
# The colours are in governance/static/portal/admin.css (classes, no inline styles: CSP).
GREEN, AMBER, RED, GREY, BLUE = "green", "amber", "red", "grey", "blue"
COLOURS = {
    # agent status / run status / grant status
    "active": GREEN,
    "suspended": AMBER,
    "decommissioned": GREY,
    "running": BLUE,
    "completed": GREEN,
    "cancelled": GREY,
    "failed": RED,
    "revoked": GREY,
    "expired": GREY,
    # trust levels
    "trusted": GREEN,
    "pending": AMBER,
    "untrusted": RED,
    # sensitivity
    "low": GREY,
    "medium": BLUE,
    "high": AMBER,
    "critical": RED,
}


def badge(value: str, label: str | None = None) -> str:
    """A small coloured pill for a status, trust level or sensitivity."""
    return format_html(
        '<span class="gov-badge gov-{}">{}</span>', COLOURS.get(value, GREY), label or value
    )


def _adopt(target: models.Model, source: models.Model) -> None:
    """Make the admin's unsaved form instance the row a service created."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


class ServiceAdmin(admin.ModelAdmin):
    """A ModelAdmin that never saves a form itself: ``create``/``update`` call a service.

    A service that refuses (domain error or validation error) rolls the whole request back and
    the form comes back with the message, nothing written.
    """

    actions = None  # no bulk delete; subclasses list their service actions

    def create(self, request, obj, form) -> models.Model:
        raise NotImplementedError

    def update(self, request, obj, form) -> models.Model:
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        if change:
            self.update(request, obj, form)
        else:
            _adopt(obj, self.create(request, obj, form))

    def save_related(self, request, form, formsets, change):
        # Many-to-many values are passed to the service; inlines are read-only, so this only
        # lets the formsets report "nothing changed" for the admin's change message.
        for formset in formsets:
            formset.save(commit=False)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (RegistryError, DjangoValidationError) as exc:
            # The first pass rolled back; render again with the refusal as a form error.
            request._service_error = exc
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        error = getattr(request, "_service_error", None)
        if error is None:
            return form

        class Refused(form):
            def clean(self):
                cleaned = super().clean()
                if isinstance(error, DjangoValidationError) and hasattr(error, "error_dict"):
                    for field, errors in error.error_dict.items():
                        self.add_error(field if field in self.fields else None, errors)
                elif isinstance(error, DjangoValidationError):
                    self.add_error(None, error.messages)
                else:
                    self.add_error(None, str(error))
                return cleaned

        return Refused

    @staticmethod
    def changed(form, fields: Iterable[str]) -> dict[str, Any]:
        return {name: form.cleaned_data[name] for name in fields if name in form.changed_data}

    def run_service(self, request, queryset, service, verb: str, **kwargs) -> None:
        """Apply one service to each selected row; report successes and refusals."""
        done, refused = 0, []
        for obj in queryset:
            try:
                service(obj, **kwargs)
                done += 1
            except RegistryError as exc:
                refused.append(str(exc))
        if done:
            self.message_user(request, f"{verb.capitalize()}: {done}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    def run_service_where_allowed(
        self, request, rows, may, service, verb: str, refused: str, **kwargs
    ) -> None:
        """``run_service`` on the rows ``may(user, row)`` allows; ``refused`` if it left some."""
        rows = list(rows)
        allowed = [row for row in rows if may(request.user, row)]
        if len(allowed) != len(rows):
            self.message_user(request, refused)
        self.run_service(request, allowed, service, verb, **kwargs)


class TeamScopedAdmin(TeamScopedAdminMixin, ServiceAdmin):
    """Rows that hang off a team: see ``agents.permissions.TeamScopedAdminMixin``."""


class CatalogueAdmin(ServiceAdmin):
    """Rows every role may read and only platform admins change (scopes, policy)."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_staff and has_any_role(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return is_platform_admin(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_platform_admin(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class NoWritesMixin:
    """No add, change or delete through the admin's forms (an admin or an inline): the rows
    change only through their services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ViewOnlyAdminMixin(NoWritesMixin):
    """Rows that change only through services (admin actions, API, beat): the admin shows them.

    Viewing follows ``has_module_permission``, which each admin defines for its audience.
    """

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)


class ReadOnlyInline(NoWritesMixin, admin.TabularInline):
    """Inlines on the agent page show; changes go through each row's own page and service."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_view_permission(self, request, obj=None) -> bool:
        # The parent page is already limited to what the user may see.
        return has_any_role(request.user)


class ReasonActionForm(ActionForm):
    """The action bar's "reason" box, for actions the audit log should explain."""

    reason = forms.CharField(required=False, max_length=2000, label="Reason")


def _reason(request) -> str:
    return request.POST.get("reason", "").strip()


class ManagedAgentFormMixin:
    """Agent pickers offer only agents the user may change (and validate against them)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agent":
            kwargs["queryset"] = agents_managed_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
