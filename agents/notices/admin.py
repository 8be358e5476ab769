"""Notices in the admin: read-only lists (they change only through ``notify`` and delivery)."""

from __future__ import annotations

from django.contrib import admin

from agents.admin.base import ViewOnlyAdminMixin
from agents.permissions import is_platform_admin

from .models import Notice, OutboxMessage


@admin.register(Notice)
class NoticeAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "kind", "subject", "team", "user"]
    list_filter = ["kind"]
    search_fields = ["subject", "dedupe_key", "team__slug", "user__username"]
    list_select_related = ["team", "user"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        # Platform admins see every notice; anyone else only their own (as in the inbox).
        qs = super().get_queryset(request)
        return qs if is_platform_admin(request.user) else qs.addressed_to(request.user)

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "channel", "notice", "created_at", "attempts", "delivered_at"]
    list_display += ["failed_at", "last_error"]
    list_filter = ["channel"]
    list_select_related = ["notice"]
    exclude = ["claim"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and is_platform_admin(request.user)
