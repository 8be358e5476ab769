"""Observed configurations in the admin: a read-only list with a "review" action."""

from __future__ import annotations

from django.contrib import admin

from agents.admin.base import ReasonActionForm, ServiceAdmin, ViewOnlyAdminMixin, _reason
from agents.permissions import can_decide, restrict

from . import services
from .models import ObservedConfiguration


@admin.register(ObservedConfiguration)
class ObservedConfigurationAdmin(ViewOnlyAdminMixin, ServiceAdmin):
    list_display = ["agent", "digest", "first_seen_at", "last_seen_at", "reviewed_at"]
    list_display += ["reviewed_by"]
    list_filter = [("reviewed_at", admin.EmptyFieldListFilter)]
    search_fields = ["agent__slug", "digest"]
    list_select_related = ["agent", "reviewed_by"]
    action_form = ReasonActionForm
    actions = ["review"]

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), request.user, team_field="agent__owner_team")

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_review_permission(self, request) -> bool:
        return can_decide(request.user)

    @admin.action(
        description="Review selected configurations (give a reason)", permissions=["review"]
    )
    def review(self, request, queryset):
        self.run_service(
            request,
            queryset.select_related("agent"),
            lambda row, **kw: services.configuration_review(observed=row, **kw),
            "reviewed",
            by=request.user,
            reason=_reason(request),
        )
