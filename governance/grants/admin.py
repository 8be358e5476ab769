"""Admin: grant requests and versions' scope reviews, read-only rows with approve/deny actions
(and, for a scope review, buttons on its page) that call the services, which check who decides.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from agents.admin.base import NoWritesMixin, TeamScopedAdmin, badge
from agents.admin.registry import ReasonActionForm, _reason
from agents.models import AgentVersion
from agents.permissions import can_decide

from .models import GrantRequest, ScopeReview
from .permissions import why_not_decide_for
from .services import grant_request_decide
from .versions import scope_review_decide


class DecidedOnlyAdmin(NoWritesMixin, TeamScopedAdmin):
    """Rows opened elsewhere (a grant request by the team, a scope review by a new version) and
    only decided here, through their service: no add, change or delete; deciding is a reviewer's
    or platform admin's."""

    def has_decide_permission(self, request) -> bool:
        return can_decide(request.user)


@admin.register(GrantRequest)
class GrantRequestAdmin(DecidedOnlyAdmin):
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


class ScopeReviewDecisionForm(forms.Form):
    """The buttons of a scope review's admin page; an empty comment is the service's refusal."""

    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    # Named like the action bar's box, so both reach the service through ``_reason``.
    reason = forms.CharField(
        required=False, max_length=2000, label="Comment", widget=forms.Textarea(attrs={"rows": 3})
    )


@admin.register(ScopeReview)
class ScopeReviewAdmin(DecidedOnlyAdmin):
    """Versions asking for different access: the admin's way to ``scope_review_decide``."""

    team_field = "agent__owner_team"
    list_display = ["created_at", "agent", "label", "difference", "review_badge", "reviewed_by"]
    list_filter = ["scope_review"]
    search_fields = ["agent__slug", "label"]
    list_select_related = ["agent", "reviewed_by"]
    date_hierarchy = "created_at"
    actions = ["approve", "deny"]
    action_form = ReasonActionForm  # its "reason" box is the decision's comment

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(scope_review=AgentVersion.ScopeReview.NONE)

    @admin.display(description="difference")
    def difference(self, obj) -> str:
        return " ".join(
            [*(f"+{n}" for n in obj.scopes_added), *(f"-{n}" for n in obj.scopes_removed)]
        )

    @admin.display(description="scope review", ordering="scope_review")
    def review_badge(self, obj):
        return badge(obj.scope_review)

    def _decide(self, request, queryset, approve: bool) -> None:
        self.run_service(
            request,
            queryset.select_related("agent"),
            lambda v, **kw: scope_review_decide(version=v, approve=approve, **kw),
            "approved" if approve else "denied",
            by=request.user,
            comment=_reason(request),
        )

    @admin.action(
        description="Approve: grant the added scopes (comment in the box)", permissions=["decide"]
    )
    def approve(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(
        description="Deny: keep the current version (comment in the box)", permissions=["decide"]
    )
    def deny(self, request, queryset):
        self._decide(request, queryset, False)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The difference of access, and Approve / Deny buttons for reviewers and admins."""
        version = self.get_object(request, unquote(object_id))  # 404 outside one's view
        form = ScopeReviewDecisionForm(request.POST or None)
        if request.method == "POST":
            if not self.has_decide_permission(request):
                raise PermissionDenied
            if form.is_valid():
                approve = form.cleaned_data["decision"] == "approve"
                self._decide(request, self.get_queryset(request).filter(pk=version.pk), approve)
            else:
                self.message_user(request, "Choose Approve or Deny.", messages.ERROR)
            return redirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Scope review of {version.agent.slug} {version.label}",
            "version": version,
            "form": form,
            "may_decide": self.has_decide_permission(request)
            and version.scope_review == AgentVersion.ScopeReview.PENDING,
            "refusal": why_not_decide_for(request.user, team_ids=[version.agent.owner_team_id]),
        }
        return TemplateResponse(request, "admin/grants/scopereview/decide.html", context)
