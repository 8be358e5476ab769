"""Admin pages of teams and agents: a thin shell over the services, limited to what one may see.

Versions, scopes and grants are in ``access``; resources, connections and workflows in
``resources``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.db.models import Count

from .. import services
from ..models import Agent, AgentVersion, Connection, ScopeGrant, Team
from ..permissions import (
    can_contain_agent,
    can_decide,
    can_manage_team,
    is_platform_admin,
    is_team_member,
    teams_managed_by,
)
from ..services.registry import AGENT_FIELDS, TEAM_FIELDS
from .base import ReadOnlyInline, ReasonActionForm, TeamScopedAdmin, _reason, badge

# Teams -----------------------------------------------------------------------------------------


class TeamForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=FilteredSelectMultiple("members", is_stacked=False),
    )

    class Meta:
        model = Team
        fields = ["slug", "name", "description", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["members"].initial = list(self.instance.members.all())


@admin.register(Team)
class TeamAdmin(TeamScopedAdmin):
    form = TeamForm
    team_field = "pk"
    list_display = ["name", "slug", "active_badge", "member_count", "agent_count", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _members=Count("group__user", distinct=True),
                _agents=Count("agents", distinct=True),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []

    def get_fields(self, request, obj=None):
        fields = ["slug", "name", "description", "is_active"]
        if obj is not None and not self.has_change_permission(request, obj):
            return [*fields, "member_list"]  # read-only: the group's users, by name
        return [*fields, "members"]

    @admin.display(description="members")
    def member_list(self, obj):
        return ", ".join(sorted(u.get_username() for u in obj.members.all())) or "—"

    def has_add_permission(self, request, obj=None) -> bool:
        return is_platform_admin(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_platform_admin(request.user)

    @admin.display(description="active", ordering="is_active")
    def active_badge(self, obj):
        return badge(
            "active" if obj.is_active else "decommissioned", "yes" if obj.is_active else "no"
        )

    @admin.display(description="members", ordering="_members")
    def member_count(self, obj):
        return obj._members

    @admin.display(description="agents", ordering="_agents")
    def agent_count(self, obj):
        return obj._agents

    def create(self, request, obj, form):
        data = form.cleaned_data
        return services.team_create(
            slug=data["slug"],
            name=data["name"],
            description=data.get("description", ""),
            members=data.get("members", ()),
            by=request.user,
        )

    def update(self, request, obj, form):
        services.team_update(team=obj, data=self.changed(form, TEAM_FIELDS), by=request.user)
        if "members" in form.changed_data:
            services.team_members_set(team=obj, users=form.cleaned_data["members"], by=request.user)


# Agents ----------------------------------------------------------------------------------------


class AgentVersionInline(ReadOnlyInline):
    model = AgentVersion
    fk_name = "agent"
    fields = ["label", "config_digest", "reviewed", "reviewed_at", "created_at"]
    readonly_fields = fields


class ScopeGrantInline(ReadOnlyInline):
    model = ScopeGrant
    fields = ["scope", "status_badge", "justification", "expires_at", "granted_by", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("scope", "granted_by")

    @admin.display(description="status")
    def status_badge(self, obj):
        return badge(obj.status)


class ConnectionInline(ReadOnlyInline):
    model = Connection
    fields = [
        "resource",
        "allowed_actions",
        "rate_limit",
        "budget_cap",
        "trust_floor",
        "expires_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("resource")


@admin.register(Agent)
class AgentAdmin(TeamScopedAdmin):
    # Short enough to fit 1280 px beside the filters; the score is in the trust badge.
    list_display = [
        "slug",
        "display_name",
        "owner_team",
        "status_badge",
        "trust_badge",
        "current_version",
    ]
    list_filter = [
        "status",
        "trust_level",
        ("owner_team", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["slug", "display_name", "purpose"]
    list_select_related = ["owner_team", "current_version"]
    list_per_page = 100
    readonly_fields = [
        "status_badge",
        "status_reason",
        "status_changed_at",
        "trust_badge",
        "trust_score",
        "trust_updated_at",
        "current_version",
        "created_by",
        "created_at",
        "updated_at",
    ]
    inlines = [AgentVersionInline, ScopeGrantInline, ConnectionInline]
    actions = ["suspend", "reactivate", "decommission"]
    action_form = ReasonActionForm

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_fields(self, request, obj=None):
        editable = ["display_name", "purpose", "owner_team"]
        return (editable if obj else ["slug", *editable]) + (self.readonly_fields if obj else [])

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner_team":
            kwargs["queryset"] = teams_managed_by(request.user).filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)

    @admin.display(description="trust", ordering="trust_level")
    def trust_badge(self, obj):
        return badge(obj.trust_level, f"{obj.trust_level} · {obj.trust_score}")

    def create(self, request, obj, form):
        data = form.cleaned_data
        return services.agent_register(
            slug=data["slug"],
            display_name=data["display_name"],
            purpose=data["purpose"],
            owner_team=data["owner_team"],
            by=request.user,
        )

    def update(self, request, obj, form):
        services.agent_update(agent=obj, data=self.changed(form, AGENT_FIELDS), by=request.user)

    def has_lifecycle_permission(self, request) -> bool:
        return can_decide(request.user) or is_team_member(request.user)

    def has_manage_permission(self, request) -> bool:
        return is_platform_admin(request.user) or is_team_member(request.user)

    def _lifecycle(self, request, queryset, service, verb, check):
        self.run_service_where_allowed(
            request,
            queryset.select_related("owner_team"),
            check,
            lambda agent, **kw: service(agent=agent, **kw),
            verb,
            "You may not do that to some of the selected agents.",
            by=request.user,
            reason=_reason(request),
        )

    @admin.action(description="Suspend selected agents", permissions=["lifecycle"])
    def suspend(self, request, queryset):
        self._lifecycle(request, queryset, services.agent_suspend, "suspended", can_contain_agent)

    @admin.action(description="Reactivate selected agents", permissions=["manage"])
    def reactivate(self, request, queryset):
        self._lifecycle(
            request,
            queryset,
            services.agent_reactivate,
            "reactivated",
            lambda u, a: can_manage_team(u, a.owner_team_id),
        )

    @admin.action(description="Decommission selected agents (final)", permissions=["manage"])
    def decommission(self, request, queryset):
        self._lifecycle(
            request,
            queryset,
            services.agent_decommission,
            "decommissioned",
            lambda u, a: can_manage_team(u, a.owner_team_id),
        )
