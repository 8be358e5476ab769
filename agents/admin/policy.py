"""Admin of the organisation policy (one row), personal API tokens and team object permissions."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from .. import services
from ..errors import RegistryError
from ..models import (
    ApiToken,
    OrganisationPolicy,
    TeamGroupObjectPermission,
    TeamUserObjectPermission,
)
from ..permissions import is_platform_admin
from ..services.registry import POLICY_FIELDS
from .base import ServiceAdmin, ViewOnlyAdminMixin, badge


@admin.register(OrganisationPolicy)
class OrganisationPolicyAdmin(ServiceAdmin):
    """A singleton: no add beyond the one row, no delete; platform admins only."""

    fields = [*POLICY_FIELDS]
    readonly_fields = ["updated_at"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_staff and is_platform_admin(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request) and not OrganisationPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        # There is only one row: go straight to it.
        if not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)
        policy = OrganisationPolicy.current()
        return HttpResponseRedirect(
            reverse("admin:agents_organisationpolicy_change", args=[policy.pk])
        )

    def create(self, request, obj, form):
        return services.policy_update(
            data={k: form.cleaned_data[k] for k in POLICY_FIELDS}, by=request.user
        )

    def update(self, request, obj, form):
        services.policy_update(data=self.changed(form, POLICY_FIELDS), by=request.user)


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'ci-deploy'.")
    expires_at = forms.SplitDateTimeField(
        required=False, widget=AdminSplitDateTime, help_text="Leave empty for no expiry."
    )


@admin.register(ApiToken)
class ApiTokenAdmin(ServiceAdmin):
    """Everyone manages their own tokens; platform admins see and revoke everyone's."""

    list_display = ["name", "user", "key", "state", "created_at", "expires_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "key", "user__username"]
    list_select_related = ["user"]
    fields = ["name", "expires_at"]
    actions = ["revoke"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if is_platform_admin(request.user) else qs.filter(user=request.user)

    def get_object(self, request, object_id, from_field=None):
        from django.http import Http404

        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such token.")
        return obj

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "name", "key", "created_at", "expires_at", "last_used_at", "revoked_at"]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or self.fields

    def has_module_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False if obj is not None else self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        return self.has_module_permission(request)

    @admin.display(description="state")
    def state(self, obj):
        if obj.revoked_at:
            return badge("revoked")
        return badge("active") if obj.is_usable else badge("expired")

    @method_decorator(never_cache)
    @method_decorator(sensitive_post_parameters())
    def add_view(self, request, form_url="", extra_context=None):
        # Its own view so that the secret lives only in this function's locals and the page.
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiTokenForm(request.POST or None)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form}
        if request.method == "POST" and form.is_valid():
            try:
                token, raw = services.api_token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    expires_at=form.cleaned_data.get("expires_at"),
                    by=request.user,
                )
            except RegistryError as exc:
                form.add_error(None, str(exc))
            else:
                context.update({"token": token, "raw": raw, "title": "API token created"})
                response = TemplateResponse(request, "admin/agents/apitoken/created.html", context)
                response["Cache-Control"] = "no-store"
                return response
        context["title"] = "New API token"
        return TemplateResponse(request, "admin/agents/apitoken/add.html", context)

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda t, **kw: services.api_token_revoke(token=t, **kw),
            "revoked",
            by=request.user,
        )


class _TeamPermissionAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Guardian's rows on teams, read-only: they change with team membership (services)."""

    list_display = ["content_object", "holder", "permission"]
    list_filter = ["permission__codename"]
    list_select_related = ["content_object", "permission"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_staff and is_platform_admin(request.user)


@admin.register(TeamGroupObjectPermission)
class TeamGroupObjectPermissionAdmin(_TeamPermissionAdmin):
    list_select_related = ["content_object", "permission", "group"]
    search_fields = ["content_object__slug", "group__name"]

    @admin.display(description="group")
    def holder(self, obj):
        return obj.group.name


@admin.register(TeamUserObjectPermission)
class TeamUserObjectPermissionAdmin(_TeamPermissionAdmin):
    list_select_related = ["content_object", "permission", "user"]
    search_fields = ["content_object__slug", "user__username"]

    @admin.display(description="user")
    def holder(self, obj):
        return obj.user.get_username()
