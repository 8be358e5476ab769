"""Admin: approval requests, read-only (humans decide in the portal or the API, audited)."""

from __future__ import annotations

from django.contrib import admin

from agents.permissions import TeamScopedAdminMixin

from .models import ApprovalRequest


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    team_field = "agent__owner_team"
    list_display = ["created_at", "agent", "action", "resource", "cost", "status", "decided_by"]
    list_filter = ["status"]
    search_fields = ["agent__slug", "resource__slug", "action", "workflow_run"]
    list_select_related = ["agent", "resource", "decided_by"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
