"""Admin pages of what agents ask for and hold: versions, the scope catalogue and grants."""

from __future__ import annotations

from django.contrib import admin

from .. import services
from ..models import AgentVersion, Scope, ScopeGrant
from ..permissions import can_contain_agent, can_decide, is_team_member
from ..services.catalogue import SCOPE_FIELDS
from .base import (
    CatalogueAdmin,
    ManagedAgentFormMixin,
    ReasonActionForm,
    TeamScopedAdmin,
    _reason,
    badge,
)


@admin.register(AgentVersion)
class AgentVersionAdmin(ManagedAgentFormMixin, TeamScopedAdmin):
    team_field = "agent__owner_team"
    list_display = ["agent", "label", "reviewed_badge", "reviewed_by", "created_at"]
    list_filter = ["reviewed"]
    search_fields = ["agent__slug", "label", "config_digest"]
    list_select_related = ["agent", "reviewed_by"]
    autocomplete_fields = ["agent"]
    filter_horizontal = ["requested_scopes"]
    fields = ["agent", "label", "config_digest", "requested_scopes"]
    actions = ["mark_reviewed"]

    def get_readonly_fields(self, request, obj=None):
        return ["reviewed", "reviewed_by", "reviewed_at", "created_at"] if obj else []

    def get_fields(self, request, obj=None):
        return self.fields + self.get_readonly_fields(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        # A released version is immutable; only its review is recorded (an action).
        return False if obj is not None else super().has_change_permission(request)

    @admin.display(description="reviewed", ordering="reviewed")
    def reviewed_badge(self, obj):
        return badge("active" if obj.reviewed else "pending", "reviewed" if obj.reviewed else "no")

    def create(self, request, obj, form):
        data = form.cleaned_data
        return services.agent_version_add(
            agent=data["agent"],
            label=data["label"],
            config_digest=data["config_digest"],
            requested_scopes=data.get("requested_scopes", ()),
            by=request.user,
        )

    def has_decide_permission(self, request) -> bool:
        return can_decide(request.user)

    @admin.action(description="Mark selected versions reviewed", permissions=["decide"])
    def mark_reviewed(self, request, queryset):
        self.run_service(
            request,
            queryset.select_related("agent"),
            lambda v, **kw: services.agent_version_review(version=v, **kw),
            "reviewed",
            by=request.user,
        )


@admin.register(Scope)
class ScopeAdmin(CatalogueAdmin):
    list_display = ["name", "resource", "action", "sensitivity_badge", "description"]
    list_filter = ["sensitivity", ("resource", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["resource"]
    search_fields = ["name", "description"]
    fields = ["resource", "action", "name", "sensitivity", "description"]

    def get_readonly_fields(self, request, obj=None):
        # The name is derived from the resource and action, which are the scope's identity.
        return ["name", "resource", "action"] if obj else ["name"]

    @admin.display(description="sensitivity", ordering="sensitivity")
    def sensitivity_badge(self, obj):
        return badge(obj.sensitivity)

    def create(self, request, obj, form):
        data = form.cleaned_data
        return services.scope_create(
            resource=data["resource"],
            action=data["action"],
            description=data.get("description", ""),
            sensitivity=data["sensitivity"],
            by=request.user,
        )

    def update(self, request, obj, form):
        services.scope_update(scope=obj, data=self.changed(form, SCOPE_FIELDS), by=request.user)


@admin.register(ScopeGrant)
class ScopeGrantAdmin(ManagedAgentFormMixin, TeamScopedAdmin):
    team_field = "agent__owner_team"
    list_display = [
        "agent",
        "scope",
        "status_badge",
        "sensitivity_badge",
        "granted_by",
        "expires_at",
        "created_at",
    ]
    list_filter = ["status", "scope__sensitivity"]
    search_fields = ["agent__slug", "scope__name", "justification"]
    list_select_related = ["agent", "scope", "granted_by"]
    autocomplete_fields = ["agent", "scope"]
    fields = ["agent", "scope", "justification", "expires_at"]
    actions = ["revoke"]
    action_form = ReasonActionForm

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*self.fields, "status", "granted_by", "created_at", "ended_at", "ended_by"]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or self.fields

    def has_change_permission(self, request, obj=None) -> bool:
        # A grant is made and ended, never edited.
        return False if obj is not None else super().has_change_permission(request)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)

    @admin.display(description="sensitivity", ordering="scope__sensitivity")
    def sensitivity_badge(self, obj):
        return badge(obj.scope.sensitivity)

    def create(self, request, obj, form):
        data = form.cleaned_data
        return services.scope_grant(
            agent=data["agent"],
            scope=data["scope"],
            justification=data["justification"],
            expires_at=data.get("expires_at"),
            by=request.user,
        )

    def has_containment_permission(self, request) -> bool:
        return can_decide(request.user) or is_team_member(request.user)

    @admin.action(description="Revoke selected grants", permissions=["containment"])
    def revoke(self, request, queryset):
        self.run_service_where_allowed(
            request,
            queryset.select_related("agent", "scope"),
            lambda user, grant: can_contain_agent(user, grant.agent),
            lambda g, **kw: services.scope_revoke(grant=g, **kw),
            "revoked",
            "You may not revoke some of the selected grants.",
            by=request.user,
            reason=_reason(request),
        )
