"""The credentials admin: a thin shell over the services; a secret is shown once, then never.

Rows are limited to the credentials of teams the user may see (others are a 404). Issuing
needs ``manage_team`` on the owner; revoking is containment (the team, reviewers, admins).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.cache import never_cache

from agents.admin.base import ViewOnlyAdminMixin
from agents.models import Agent, Resource
from agents.permissions import (
    agents_managed_by,
    can_decide,
    can_manage_team,
    has_any_role,
    is_platform_admin,
    is_team_member,
    teams_managed_by,
)
from audit.datetimes import UtcDateTimeField

from . import services
from .errors import CredentialError
from .models import Credential, SigningKey


class IssueForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False)
    resource = forms.ModelChoiceField(queryset=Resource.objects.none(), required=False)
    kind = forms.ChoiceField(choices=Credential.Kind.choices)
    public_jwk = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="For a public key: the P-256 or Ed25519 public JWK (JSON). Never a private key.",
    )
    label = forms.CharField(required=False, max_length=200)
    expires_at = UtcDateTimeField(required=False, help_text="Optional, UTC.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents_managed_by(user).exclude(status="decommissioned")
        self.fields["resource"].queryset = Resource.objects.filter(
            owner_team__in=teams_managed_by(user)
        ) | (Resource.objects.all() if is_platform_admin(user) else Resource.objects.none())

    def clean(self):
        data = super().clean()
        if bool(data.get("agent")) == bool(data.get("resource")):
            raise forms.ValidationError("Choose an agent or a resource server, not both.")
        if data.get("kind") == Credential.Kind.PUBLIC_KEY:
            try:
                data["public_jwk"] = json.loads(data.get("public_jwk") or "")
            except ValueError as exc:
                raise forms.ValidationError("The public key must be a JWK in JSON.") from exc
        else:
            data["public_jwk"] = None
        return data


def _owner_team_id(credential: Credential) -> int | None:
    if credential.agent_id:
        return credential.agent.owner_team_id
    return credential.resource.owner_team_id


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    list_display = ["id", "principal_link", "kind", "status_badge", "created_at", "last_used_at"]
    list_filter = ["status", "kind"]
    search_fields = ["id", "agent__slug", "resource__slug", "label", "jwk_thumbprint"]
    exclude = ["secret_hmac"]
    readonly_fields = [
        "id",
        "agent",
        "resource",
        "kind",
        "label",
        "status",
        "status_reason",
        "public_jwk",
        "jwk_thumbprint",
        "algorithm",
        "not_before",
        "expires_at",
        "last_used_at",
        "predecessor",
        "created_by_principal",
        "created_at",
        "ended_at",
    ]
    actions = ["revoke_selected", "revoke_all_of_agents"]

    def get_queryset(self, request):
        return Credential.objects.visible_to(request.user).select_related("agent", "resource")

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such credential.")
        return obj

    def has_module_permission(self, request) -> bool:
        return request.user.is_staff and has_any_role(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return is_platform_admin(request.user) or is_team_member(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # credentials change only through issue / revoke / rotate

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="principal")
    def principal_link(self, obj: Credential) -> str:
        return obj.principal

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Credential) -> str:
        colour = {"active": "#1e7b34", "rotating": "#a86400"}.get(obj.status, "#667085")
        return format_html(
            '<span style="color:#fff;background:{};padding:1px 8px;border-radius:9px">{}</span>',
            colour,
            obj.status,
        )

    def get_urls(self):
        custom = [
            path(
                "add/",
                self.admin_site.admin_view(self.issue_view),
                name="credentials_credential_add",
            )
        ]
        return custom + super().get_urls()

    @method_decorator(never_cache)
    def issue_view(self, request):
        """Issue a credential; the secret is in this one response and stored nowhere."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = IssueForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            team_id = (data["agent"] or data["resource"]).owner_team_id
            if not can_manage_team(request.user, team_id):
                raise PermissionDenied
            try:
                issued = services.credential_issue(
                    agent=data["agent"],
                    resource=data["resource"],
                    kind=data["kind"],
                    public_jwk=data["public_jwk"],
                    label=data["label"],
                    expires_at=data["expires_at"],
                    by=request.user,
                )
            except CredentialError as exc:
                form.add_error(None, str(exc))
            else:
                response = TemplateResponse(
                    request,
                    "admin/credentials/credential/issued.html",
                    {
                        **self.admin_site.each_context(request),
                        "credential": issued.credential,
                        "secret": issued.secret,
                        "opts": self.model._meta,
                        "title": "Credential issued",
                    },
                )
                response["Cache-Control"] = "no-store"
                return response
        return TemplateResponse(
            request,
            "admin/credentials/credential/issue.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "opts": self.model._meta,
                "title": "Issue a credential",
            },
        )

    def _may_contain(self, request, credential: Credential) -> bool:
        return can_decide(request.user) or can_manage_team(request.user, _owner_team_id(credential))

    @admin.action(description="Revoke the selected credentials now")
    def revoke_selected(self, request, queryset):
        # Every row is checked before any is revoked, and all are revoked in one transaction:
        # a refusal leaves nothing half done.
        credentials = list(queryset.filter(status__in=Credential.USABLE))
        if not all(self._may_contain(request, credential) for credential in credentials):
            raise PermissionDenied
        with transaction.atomic():
            for credential in credentials:
                services.credential_revoke(credential=credential, by=request.user, reason="admin")
        self.message_user(request, f"{len(credentials)} credential(s) revoked.", messages.SUCCESS)

    @admin.action(description="Revoke every credential of the selected credentials' agents")
    def revoke_all_of_agents(self, request, queryset):
        agents = {c.agent for c in queryset.select_related("agent") if c.agent_id}
        user = request.user
        if not all(can_decide(user) or can_manage_team(user, a.owner_team_id) for a in agents):
            raise PermissionDenied
        with transaction.atomic():
            total = sum(
                services.credential_revoke_all(agent=agent, by=user, reason="admin")
                for agent in agents
            )
        self.message_user(
            request, f"{total} credential(s) of {len(agents)} agent(s) revoked.", messages.SUCCESS
        )


@admin.register(SigningKey)
class SigningKeyAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Platform signing keys: public parts only, platform admins only."""

    list_display = ["kid", "algorithm", "status", "created_at", "activated_at", "publish_until"]
    list_filter = ["status", "algorithm"]
    exclude = ["private_key_encrypted"]
    readonly_fields = [
        "kid",
        "algorithm",
        "public_jwk",
        "status",
        "created_at",
        "activated_at",
        "retired_at",
        "publish_until",
    ]
    actions = ["rotate_now"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_staff and is_platform_admin(request.user)

    @admin.action(description="Rotate now (the published next key starts signing)")
    def rotate_now(self, request, queryset):
        if not is_platform_admin(request.user):
            raise PermissionDenied
        out = services.signing_keys_rotate(force=True)
        self.message_user(request, f"Activated {', '.join(out['activated'])}.", messages.SUCCESS)
