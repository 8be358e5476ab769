"""Admin: platform admins register, change and revoke attestors; attestations are shown only.

Every write goes through ``services`` (which checks the right and audits): a refusal comes
back on the form with nothing written.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from agents.admin.base import CatalogueAdmin, ViewOnlyAdminMixin, badge
from agents.permissions import can_see_everything

from . import services
from .models import Attestation, Attestor, ClaimType


class AttestorForm(forms.ModelForm):
    claim_types = forms.MultipleChoiceField(
        choices=ClaimType.choices, widget=forms.CheckboxSelectMultiple
    )
    public_jwk = forms.JSONField(
        help_text="The attestor's public JWK: P-256 (EC) or Ed25519 (OKP). Never a private key."
    )
    kid = forms.CharField(required=False, help_text="Default: the key's RFC 7638 thumbprint.")
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Audited."
    )
    revoke = forms.BooleanField(
        required=False, help_text="Revoke: its attestations stop counting (needs a reason)."
    )

    class Meta:
        model = Attestor
        fields = ["name", "display_name", "public_jwk", "kid", "claim_types", "cap"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "A change to an attestor needs a reason.")
        return cleaned


@admin.register(Attestor)
class AttestorAdmin(CatalogueAdmin):
    form = AttestorForm
    list_display = ["name", "display_name", "algorithm", "cap", "status_badge", "created_at"]
    list_filter = ["status", "algorithm"]
    search_fields = ["name", "display_name", "kid"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "display_name", "public_jwk", "kid", "claim_types", "cap"]
        fields = ["name", "algorithm", "kid", "public_jwk", "status", "status_reason"]
        if obj.is_active:
            fields += ["display_name", "claim_types", "cap", "reason", "revoke"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        readonly = ["name", "algorithm", "kid", "public_jwk", "status", "status_reason"]
        if not obj.is_active:
            readonly += ["display_name", "claim_types", "cap"]
        return readonly

    @admin.display(description="status")
    def status_badge(self, obj: Attestor) -> str:
        return badge(obj.status, obj.get_status_display())

    def has_module_permission(self, request) -> bool:
        # Reviewers read attestors (they judge the breakdowns); only admins change them.
        return request.user.is_staff and can_see_everything(request.user)

    def create(self, request, obj, form) -> Attestor:
        data = form.cleaned_data
        return self._call(
            services.attestor_register,
            name=data["name"],
            display_name=data["display_name"],
            public_jwk=data["public_jwk"],
            kid=data.get("kid") or "",
            claim_types=list(data["claim_types"]),
            cap=data["cap"],
            by=request.user,
        )

    def update(self, request, obj, form) -> Attestor:
        data = form.cleaned_data
        current = Attestor.objects.get(pk=obj.pk)
        changed = self._call(
            services.attestor_change,
            attestor=current,
            by=request.user,
            reason=data["reason"],
            display_name=data.get("display_name"),
            claim_types=list(data["claim_types"]) if "claim_types" in data else None,
            cap=data.get("cap"),
        )
        if data.get("revoke"):
            changed = self._call(
                services.attestor_revoke, attestor=changed, by=request.user, reason=data["reason"]
            )
        return changed

    @staticmethod
    def _call(service, **kwargs) -> Attestor:
        try:
            return service(**kwargs)
        except services.AttestorError as exc:
            raise ValidationError(str(exc)) from exc

    def log_change(self, request, obj, message):
        return None  # the service wrote the audit entry

    def log_addition(self, request, obj, message):
        return None


@admin.register(Attestation)
class AttestationAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "agent", "attestor", "claim_type", "result", "issued_at", "expires_at"]
    list_filter = ["claim_type", "result", "attestor"]
    search_fields = ["agent__slug", "attestor__name", "jti"]
    list_select_related = ["agent", "attestor"]
    readonly_fields = [
        "attestor",
        "agent",
        "claim_type",
        "result",
        "jti",
        "issued_at",
        "expires_at",
        "config_digest",
        "jws",
        "received_at",
    ]

    def has_module_permission(self, request) -> bool:
        return request.user.is_staff and can_see_everything(request.user)
