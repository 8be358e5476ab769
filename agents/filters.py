"""The agent filters, shared by the registry API and the portal's agent list (django-filter).

One FilterSet, so a filter means the same on both: the API answers a bad value with a 400
(``DjangoFilterBackend``), the portal leaves out just that filter (``FilterSet.qs`` filters by
the fields that validated) and keeps the others.
"""

from __future__ import annotations

from typing import Any

import django_filters as df
from django import forms
from django.db.models import Q, QuerySet

from audit.datetimes import UtcIsoDateTimeFilter

from .models import Agent, TrustLevel


class AgentFilter(df.FilterSet):
    q = df.CharFilter(method="filter_q", max_length=100, label="Search name, slug, purpose")
    status = df.ChoiceFilter(choices=Agent.Status.choices, empty_label="Any status")
    trust_level = df.ChoiceFilter(choices=TrustLevel.choices, empty_label="Any trust")
    owner_team = df.CharFilter(field_name="owner_team__slug", label="Owning team (slug)")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Agent
        fields: list[str] = []

    def __init__(self, *args: Any, teams: QuerySet | None = None, **kwargs: Any) -> None:
        """``teams``: offer these teams as a choice for ``owner_team`` (a form shown to people)."""
        super().__init__(*args, **kwargs)
        if teams is not None:
            choices = [("", "Any team"), *teams.values_list("slug", "name")]
            self.form.fields["owner_team"].widget = forms.Select(choices=choices)
        self.form.fields["q"].widget.attrs.setdefault("placeholder", "Search name, slug, purpose")

    def filter_q(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return qs
        match = Q(slug__icontains=value) | Q(display_name__icontains=value)
        return qs.filter(match | Q(purpose__icontains=value))
