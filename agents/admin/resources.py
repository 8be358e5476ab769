"""Admin pages of resources, connections, workflows and runs: thin shells over the services."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models

from .. import services
from ..models import (
    Connection,
    Resource,
    Workflow,
    WorkflowRun,
)
from ..permissions import (
    agents_managed_by,
    can_manage_team,
    connections_visible_to,
    has_any_role,
    is_platform_admin,
    is_team_member,
    restrict,
    teams_managed_by,
)
from ..services.catalogue import RESOURCE_FIELDS
from ..services.connections import CONNECTION_FIELDS
from ..services.registry import WORKFLOW_FIELDS
from .base import ManagedAgentFormMixin, ReasonActionForm, TeamScopedAdmin, _reason, badge

# Resources and connections ---------------------------------------------------------------------


@admin.register(Resource)
class ResourceAdmin(TeamScopedAdmin):
    """Every role sees every resource (to connect to it); the owning team or admins edit it."""

    list_display = ["slug", "name", "audience", "owner_team", "sensitivity_badge"]
    list_filter = ["sensitivity", ("owner_team", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["slug", "name", "audience"]
    list_select_related = ["owner_team"]
    # An audience typed without a scheme is https (Django 6's default, opted into now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        return qs if has_any_role(request.user) else qs.none()

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner_team":
            kwargs["queryset"] = teams_managed_by(request.user)
            kwargs["required"] = not is_platform_admin(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="sensitivity", ordering="sensitivity")
    def sensitivity_badge(self, obj):
        return badge(obj.sensitivity)

    def create(self, request, obj, form):
        data = form.cleaned_data
        return services.resource_create(
            slug=data["slug"],
            name=data["name"],
            audience=data["audience"],
            owner_team=data.get("owner_team"),
            sensitivity=data["sensitivity"],
            description=data.get("description", ""),
            by=request.user,
        )

    def update(self, request, obj, form):
        services.resource_update(
            resource=obj, data=self.changed(form, RESOURCE_FIELDS), by=request.user
        )


class ConnectionForm(forms.ModelForm):
    allowed_actions = forms.CharField(help_text="Comma-separated action names, e.g. read, write")

    class Meta:
        model = Connection
        fields = ["agent", "resource", "allowed_actions", *CONNECTION_FIELDS[1:]]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["allowed_actions"] = ", ".join(self.instance.allowed_actions or [])

    def clean_allowed_actions(self):
        actions = [a.strip() for a in self.cleaned_data["allowed_actions"].split(",") if a.strip()]
        if not actions:
            raise forms.ValidationError("Name at least one action.")
        return actions


@admin.register(Connection)
class ConnectionAdmin(ManagedAgentFormMixin, TeamScopedAdmin):
    form = ConnectionForm
    team_field = "agent__owner_team"
    list_display = [
        "agent",
        "resource",
        "status_badge",
        "allowed",
        "rate_limit",
        "budget_cap",
        "floor_badge",
        "expires_at",
    ]
    list_filter = ["status", "trust_floor", ("resource", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["agent__slug", "resource__slug"]
    list_select_related = ["agent", "resource"]
    autocomplete_fields = ["agent", "resource"]
    actions = ["accept", "decline"]
    action_form = ReasonActionForm  # its "reason" box is the consent's comment

    def get_queryset(self, request):
        # The agent's team, and the resource's owners, who read (not edit) it and consent.
        visible = connections_visible_to(request.user).values("pk")
        return admin.ModelAdmin.get_queryset(self, request).filter(pk__in=visible)

    def get_readonly_fields(self, request, obj=None):
        return ["agent", "resource"] if obj else []

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is None:
            return is_platform_admin(request.user) or is_team_member(request.user)
        return self.has_change_permission(request, obj)

    @admin.display(description="allowed actions")
    def allowed(self, obj):
        return ", ".join(obj.allowed_actions or [])

    @admin.display(description="trust floor", ordering="trust_floor")
    def floor_badge(self, obj):
        return badge(obj.trust_floor)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)

    def has_consent_permission(self, request) -> bool:
        # Who might manage a resource's team; the service decides for each connection.
        return is_platform_admin(request.user) or is_team_member(request.user)

    def _consent(self, request, queryset, accept: bool) -> None:
        self.run_service(
            request,
            queryset.select_related("agent", "resource"),
            lambda c, **kw: services.connection_consent(connection=c, accept=accept, **kw),
            "accepted" if accept else "declined",
            by=request.user,
            comment=_reason(request),
        )

    @admin.action(description="Accept: your team's resource consents", permissions=["consent"])
    def accept(self, request, queryset):
        self._consent(request, queryset, True)

    @admin.action(description="Decline (comment in the box)", permissions=["consent"])
    def decline(self, request, queryset):
        self._consent(request, queryset, False)

    def create(self, request, obj, form):
        data = dict(form.cleaned_data)
        return services.connection_create(
            agent=data.pop("agent"),
            resource=data.pop("resource"),
            allowed_actions=data.pop("allowed_actions"),
            by=request.user,
            **{k: v for k, v in data.items() if k in CONNECTION_FIELDS},
        )

    def update(self, request, obj, form):
        services.connection_update(
            connection=obj, data=self.changed(form, CONNECTION_FIELDS), by=request.user
        )

    def delete_model(self, request, obj):
        services.connection_delete(connection=obj, by=request.user)


# Workflows -------------------------------------------------------------------------------------


@admin.register(Workflow)
class WorkflowAdmin(TeamScopedAdmin):
    list_display = ["slug", "name", "owner_team", "created_at"]
    list_filter = [("owner_team", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["slug", "name"]
    list_select_related = ["owner_team"]

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner_team":
            kwargs["queryset"] = teams_managed_by(request.user).filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def create(self, request, obj, form):
        data = form.cleaned_data
        return services.workflow_create(
            slug=data["slug"],
            name=data["name"],
            owner_team=data["owner_team"],
            description=data.get("description", ""),
            by=request.user,
        )

    def update(self, request, obj, form):
        services.workflow_update(
            workflow=obj, data=self.changed(form, WORKFLOW_FIELDS), by=request.user
        )


@admin.register(WorkflowRun)
class WorkflowRunAdmin(TeamScopedAdmin):
    team_field = "workflow__owner_team"
    list_display = ["run_id", "workflow", "status_badge", "triggered_by", "started_at", "ended_at"]
    list_filter = ["status"]
    search_fields = ["run_id", "triggered_by", "workflow__slug"]
    list_select_related = ["workflow"]
    # Who triggered a run is whoever starts it (the service sets it), never a form field.
    fields = ["workflow", "run_id", "participants", "deadline"]
    filter_horizontal = ["participants"]
    actions = ["complete", "cancel"]
    action_form = ReasonActionForm

    def get_readonly_fields(self, request, obj=None):
        return [*self.fields, "triggered_by", "status", "started_at", "ended_at"] if obj else []

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or self.fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workflow":
            kwargs["queryset"] = restrict(
                Workflow.objects.all(), request.user, team_field="owner_team", write=True
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "participants":
            kwargs["queryset"] = agents_managed_by(request.user).filter(status="active")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        # A run is started and ended through services, never edited.
        return False if obj is not None else super().has_change_permission(request)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)

    def create(self, request, obj, form):
        data = form.cleaned_data
        return services.run_start(
            workflow=data["workflow"],
            run_id=data["run_id"],
            participants=data.get("participants") or [],
            deadline=data.get("deadline"),
            by=request.user,
        )

    def has_end_permission(self, request) -> bool:
        return is_platform_admin(request.user) or is_team_member(request.user)

    def _end(self, request, queryset, service, verb):
        self.run_service_where_allowed(
            request,
            queryset.select_related("workflow"),
            lambda user, run: can_manage_team(user, run.workflow.owner_team_id),
            lambda r, **kw: service(run=r, **kw),
            verb,
            "You may not end some of the selected runs.",
            by=request.user,
            reason=_reason(request),
        )

    @admin.action(description="Complete selected runs", permissions=["end"])
    def complete(self, request, queryset):
        self._end(request, queryset, services.run_complete, "completed")

    @admin.action(description="Cancel selected runs", permissions=["end"])
    def cancel(self, request, queryset):
        self._end(request, queryset, services.run_cancel, "cancelled")
