"""Admin: agents' trust (breakdown, history, pins) and the trust policy's versions.

Reviewers and platform admins pin levels; platform admins add policy versions. Both save
through the services (validated, audited); nothing here writes a row itself.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import format_html, format_html_join

from agents.admin.base import ServiceAdmin
from agents.models import TrustLevel
from agents.permissions import can_decide, can_see_everything, is_platform_admin
from audit.datetimes import UtcDateTimeField

from .attestations import admin as _attestations_admin  # noqa: F401  (registers its admins)
from .errors import TrustError
from .models import AgentTrust, TrustComputation, TrustPin, TrustPolicy
from .policy import EDITABLE, current_policy, trust_policy_change, values_of
from .services import trust_pin


class _ReadOnly(ServiceAdmin):
    def has_module_permission(self, request) -> bool:
        return can_see_everything(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return can_see_everything(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def breakdown_html(factors: list[dict]) -> str:
    return format_html(
        "<table><tr><th>factor</th><th>status</th><th>points</th><th>why</th><th>advice</th>"
        "</tr>{}</table>",
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (f["code"], f["status"], f["points"], f["sentence"], f.get("advice", ""))
                for f in factors
            ),
        ),
    )


class PinForm(forms.ModelForm):
    pin_level = forms.ChoiceField(choices=TrustLevel.choices, label="Pin level")
    pin_expires_at = UtcDateTimeField(
        required=False, label="Pin until", help_text="Empty: the policy's longest pin."
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Audited.")

    class Meta:
        model = AgentTrust
        fields: list[str] = []


@admin.register(AgentTrust)
class AgentTrustAdmin(_ReadOnly):
    form = PinForm
    list_display = ["slug", "status", "trust_score", "trust_level", "pinned", "trust_updated_at"]
    list_filter = ["trust_level", "status"]
    search_fields = ["slug", "display_name"]
    readonly_fields = [
        "slug",
        "status",
        "trust_score",
        "trust_level",
        "trust_updated_at",
        "pin",
        "breakdown",
    ]
    fields = [*readonly_fields, "pin_level", "pin_expires_at", "reason"]

    def has_change_permission(self, request, obj=None) -> bool:
        return can_decide(request.user)

    @admin.display(boolean=True)
    def pinned(self, obj) -> bool:
        return obj.trust_pins.filter(ended_at__isnull=True).exists()

    def pin(self, obj) -> str:
        open_pin = obj.trust_pins.filter(ended_at__isnull=True).first()
        if open_pin is None:
            return "—"
        return f"{open_pin.level} until {open_pin.expires_at:%Y-%m-%d %H:%M} UTC: {open_pin.reason}"

    def breakdown(self, obj) -> str:
        latest = TrustComputation.objects.filter(agent=obj).first()
        if latest is None:
            return "not computed yet"
        return breakdown_html(latest.factors)

    def update(self, request, obj, form) -> AgentTrust:
        # The service, not obj.save(): it checks the pinner, locks the row, audits the pin.
        try:
            trust_pin(
                agent=obj,
                level=form.cleaned_data["pin_level"],
                reason=form.cleaned_data["reason"],
                expires_at=form.cleaned_data.get("pin_expires_at"),
                by=request.user,
            )
        except TrustError as exc:
            raise ValidationError(str(exc)) from exc
        return obj

    def log_change(self, request, obj, message):
        return None  # the service wrote the audit entry


@admin.register(TrustComputation)
class TrustComputationAdmin(_ReadOnly):
    list_display = ["agent", "computed_at", "score", "computed_level", "level", "policy"]
    list_filter = ["level"]
    search_fields = ["agent__slug"]
    list_select_related = ["agent", "policy"]
    readonly_fields = [
        "agent",
        "computed_at",
        "score",
        "computed_level",
        "level",
        "caps",
        "pin",
        "policy",
        "table",
    ]
    exclude = ["factors", "fingerprint"]

    @admin.display(description="factors")
    def table(self, obj) -> str:
        return breakdown_html(obj.factors)


@admin.register(TrustPin)
class TrustPinAdmin(_ReadOnly):
    list_display = ["agent", "level", "created_by", "created_at", "expires_at", "ended_at"]
    list_filter = ["level"]
    search_fields = ["agent__slug"]


class PolicyForm(forms.ModelForm):
    class Meta:
        model = TrustPolicy
        fields = [*EDITABLE, "reason"]

    def _post_clean(self) -> None:
        pass  # the service validates the whole new version (field errors come back from it)


@admin.register(TrustPolicy)
class TrustPolicyAdmin(_ReadOnly):
    """Versions are added, never edited: "add" starts from the version in force."""

    form = PolicyForm
    list_display = ["version", "created_at", "created_by", "reason"]

    def has_add_permission(self, request) -> bool:
        return is_platform_admin(request.user)

    def get_changeform_initial_data(self, request):
        return {**values_of(current_policy()), "reason": ""}

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in TrustPolicy._meta.fields] if obj else []

    def create(self, request, obj, form) -> TrustPolicy:
        if not is_platform_admin(request.user):
            raise PermissionDenied
        before = values_of(current_policy())
        changes = {
            k: v for k, v in form.cleaned_data.items() if k in EDITABLE and before.get(k) != v
        }
        return trust_policy_change(
            by=request.user, reason=form.cleaned_data["reason"], changes=changes
        )

    def log_addition(self, request, obj, message):
        return None  # the service wrote the audit entry
