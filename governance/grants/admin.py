"""Admin: grant requests, read-only rows with approve/deny actions that call the service."""

from __future__ import annotations

from django.contrib import admin

from agents.admin.base import TeamScopedAdmin, badge
from agents.admin.registry import ReasonActionForm, _reason
from agents.permissions import can_decide

from .models import GrantRequest
from .services import grant_request_decide


@admin.register(GrantRequest)
class GrantRequestAdmin(TeamScopedAdmin):
    team_field = "agent__owner_team"
    list_display = [
        "created_at",
        "agent",
        "scope",
        "sensitivity_badge",
        "status_badge",
        "requested_by",
        "decided_by",
    ]
    list_filter = ["status", "scope__sensitivity"]
    search_fields = ["agent__slug", "scope__name", "justification"]
    list_select_related = ["agent", "scope", "requested_by", "decided_by"]
    date_hierarchy = "created_at"
    actions = ["approve", "deny"]
    action_form = ReasonActionForm  # its "reason" box is the decision's comment

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # opened by the team from the portal, API or CLI

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_decide_permission(self, request) -> bool:
        return can_decide(request.user)

    @admin.display(description="sensitivity", ordering="scope__sensitivity")
    def sensitivity_badge(self, obj):
        return badge(obj.scope.sensitivity)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status)

    def _decide(self, request, queryset, approve: bool) -> None:
        self.run_service(
            request,
            queryset.select_related("agent", "scope"),
            lambda r, **kw: grant_request_decide(request=r, approve=approve, **kw),
            "approved" if approve else "denied",
            by=request.user,
            comment=_reason(request),
        )

    @admin.action(description="Approve and grant (comment in the box)", permissions=["decide"])
    def approve(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description="Deny (comment in the box)", permissions=["decide"])
    def deny(self, request, queryset):
        self._decide(request, queryset, False)
