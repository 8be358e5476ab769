"""Routes of the audit API, mounted under /api/v1/audit/."""

from django.urls import path, re_path

from . import api

urlpatterns = [
    path("entries/", api.AuditEntryList.as_view(), name="audit-entry-list"),
    re_path(
        r"^entries/export\.(?P<fmt>csv|jsonl)$",
        api.AuditExport.as_view(),
        name="audit-entry-export",
    ),
    path("summaries/", api.AuditSummaryList.as_view(), name="audit-summary-list"),
    path("agents/<slug:slug>/timeline/", api.AgentTimeline.as_view(), name="audit-timeline"),
    path("checkpoints/", api.CheckpointList.as_view(), name="audit-checkpoint-list"),
    path("checkpoints/latest", api.CheckpointLatest.as_view(), name="audit-checkpoint-latest"),
]
