"""Admin: platform admins set an agent's trust score and level, with a reason."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from agents.models import TrustLevel
from agents.permissions import can_see_everything, is_platform_admin

from .attestations import admin as _attestations_admin  # noqa: F401  (registers its admins)
from .errors import TrustError
from .models import AgentTrust
from .services import SCORE_MAX, SCORE_MIN, trust_level_set


class TrustForm(forms.ModelForm):
    trust_score = forms.IntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX)
    trust_level = forms.ChoiceField(choices=TrustLevel.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Audited.")

    class Meta:
        model = AgentTrust
        fields = ["trust_score", "trust_level"]


@admin.register(AgentTrust)
class AgentTrustAdmin(admin.ModelAdmin):
    form = TrustForm
    list_display = ["slug", "status", "trust_score", "trust_level", "trust_updated_at"]
    list_filter = ["trust_level", "status"]
    search_fields = ["slug", "display_name"]
    readonly_fields = ["slug", "status", "trust_updated_at"]
    fields = ["slug", "status", "trust_score", "trust_level", "trust_updated_at", "reason"]

    def has_module_permission(self, request) -> bool:
        return can_see_everything(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return can_see_everything(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_platform_admin(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        # The service, not obj.save(): it validates, locks the row and writes the audit entry.
        try:
            trust_level_set(
                agent=obj,
                score=form.cleaned_data["trust_score"],
                level=form.cleaned_data["trust_level"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except TrustError as exc:  # the form validated already; keep the message if not
            raise ValidationError(str(exc)) from exc

    def log_change(self, request, obj, message):
        # The service wrote the audit entry; the admin's own LogEntry adds nothing.
        return None
