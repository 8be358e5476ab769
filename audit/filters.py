"""The audit search filters, shared by the API and the portal page (django-filter)."""

from __future__ import annotations

import django_filters as df
from django.db.models import Q

from .datetimes import UtcIsoDateTimeFilter
from .models import AuditEntry


class AuditEntryFilter(df.FilterSet):
    agent = df.CharFilter(method="filter_agent", label="Agent slug (actor or subject)")
    user = df.CharFilter(method="filter_user", label="Username of the acting human")
    actor = df.CharFilter(field_name="actor")
    resource = df.CharFilter(field_name="resource")
    action = df.CharFilter(method="filter_action", label="Action (a trailing * matches a prefix)")
    outcome = df.ChoiceFilter(choices=AuditEntry.Outcome.choices)
    workflow_run = df.CharFilter(field_name="workflow_run")
    token = df.CharFilter(field_name="token_jti", label="Token jti")
    credential = df.CharFilter(field_name="credential_id")
    request_id = df.CharFilter(field_name="request_id")
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = df.OrderingFilter(fields=("created_at", "seq", "id", "actor", "action"))

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def filter_agent(self, qs, name, value):
        principal = value if value.startswith("agent:") else f"agent:{value}"
        return qs.filter(Q(actor=principal) | Q(resource=principal))

    def filter_user(self, qs, name, value):
        return qs.filter(actor=value if value.startswith("user:") else f"user:{value}")

    def filter_action(self, qs, name, value):
        if value.endswith("*"):
            return qs.filter(action__startswith=value[:-1])
        return qs.filter(action=value)
