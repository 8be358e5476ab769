"""Admin of access reviews: the policy (platform admins), campaigns, items with their lines'
evidence, and each agent's usage evidence. Read-only but for the policy: decisions are made in
the portal, the API or the CLI, through the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from agents.admin.base import ReadOnlyInline, ServiceAdmin, ViewOnlyAdminMixin
from agents.permissions import TeamScopedAdminMixin, can_see_everything, is_platform_admin

from .errors import ReviewError
from .models import AgentUsage, Campaign, ReviewItem, ReviewLine, ReviewPolicy
from .permissions import campaigns_visible_to
from .selectors import agent_evidence
from .services import review_campaign_close
from .services.policy import POLICY_FIELDS, review_policy_update


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(ServiceAdmin):
    fields = [*POLICY_FIELDS]
    readonly_fields = ["last_scheduled_at", "updated_at"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_staff and is_platform_admin(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request) and not ReviewPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def create(self, request, obj, form):
        return review_policy_update(
            data={k: form.cleaned_data[k] for k in POLICY_FIELDS}, by=request.user
        )

    def update(self, request, obj, form):
        review_policy_update(data=self.changed(form, POLICY_FIELDS), by=request.user)


@admin.register(Campaign)
class CampaignAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "coverage", "state", "due_at", "created_by", "created_at"]
    list_filter = ["state", "kind", "coverage"]
    search_fields = ["name"]
    date_hierarchy = "created_at"

    actions = ["close"]

    def get_queryset(self, request):
        return campaigns_visible_to(request.user)

    def has_close_permission(self, request) -> bool:
        return can_see_everything(request.user)

    @admin.action(description="Close selected campaigns (items left pending stay undecided)")
    def close(self, request, queryset):
        done, refused = 0, []
        for campaign in queryset:
            try:
                review_campaign_close(campaign=campaign, by=request.user, force=True)
                done += 1
            except ReviewError as exc:
                refused.append(str(exc))
        if done:
            self.message_user(request, f"Closed: {done}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    def has_module_permission(self, request) -> bool:
        return request.user.is_staff and can_see_everything(request.user)


class LineInline(ReadOnlyInline):
    model = ReviewLine
    fields = [
        "kind", "label", "sensitivity", "last_used_at", "uses_30d", "uses_90d", "age_days",
        "recommendation", "reason", "decision", "comment", "result", "result_detail",
    ]  # fmt: skip
    readonly_fields = fields

    def has_view_permission(self, request, obj=None) -> bool:
        return True  # whoever may see the item (the parent admin's queryset) sees its lines


@admin.register(ReviewItem)
class ReviewItemAdmin(ViewOnlyAdminMixin, TeamScopedAdminMixin, admin.ModelAdmin):
    team_field = "agent__owner_team"
    list_display = ["agent", "campaign", "risk", "trust_level", "state", "decided_by"]
    list_filter = ["state", "risk"]
    search_fields = ["agent__slug", "campaign__name"]
    list_select_related = ["agent", "campaign", "decided_by"]
    inlines = [LineInline]


@admin.register(AgentUsage)
class AgentUsageAdmin(ViewOnlyAdminMixin, TeamScopedAdminMixin, admin.ModelAdmin):
    """Last use and 30/90-day uses of an agent's grants, connections and credentials."""

    list_display = ["slug", "owner_team", "status", "trust_level"]
    search_fields = ["slug", "display_name"]
    list_select_related = ["owner_team"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        agent = self.get_object(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Usage of {agent.slug}",
            "agent": agent,
            "evidence": agent_evidence(agent),
        }
        return TemplateResponse(request, "admin/reviews/agentusage/usage.html", context)
