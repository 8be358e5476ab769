"""django-filter FilterSets of the registry API (related rows by slug); ``AgentFilter``, which
the portal shares, is in ``agents/filters.py``."""

from __future__ import annotations

import django_filters as df

from audit.datetimes import UtcIsoDateTimeFilter

from ..models import (
    AgentVersion,
    Connection,
    Resource,
    Scope,
    ScopeGrant,
    Team,
    Workflow,
    WorkflowRun,
)


class TeamFilter(df.FilterSet):
    member = df.CharFilter(field_name="group__user__username", label="Member's username")

    class Meta:
        model = Team
        fields = ["is_active"]


class AgentVersionFilter(df.FilterSet):
    agent = df.CharFilter(field_name="agent__slug")

    class Meta:
        model = AgentVersion
        fields = ["agent", "reviewed"]


class ScopeFilter(df.FilterSet):
    resource = df.CharFilter(field_name="name", lookup_expr="startswith", label="Resource part")

    class Meta:
        model = Scope
        fields = ["sensitivity"]


class ScopeGrantFilter(df.FilterSet):
    agent = df.CharFilter(field_name="agent__slug")
    scope = df.CharFilter(field_name="scope__name")
    owner_team = df.CharFilter(field_name="agent__owner_team__slug")
    expires_before = UtcIsoDateTimeFilter(field_name="expires_at", lookup_expr="lt")

    class Meta:
        model = ScopeGrant
        fields = ["agent", "scope", "status"]


class ResourceFilter(df.FilterSet):
    owner_team = df.CharFilter(field_name="owner_team__slug")

    class Meta:
        model = Resource
        fields = ["owner_team", "sensitivity"]


class ConnectionFilter(df.FilterSet):
    agent = df.CharFilter(field_name="agent__slug")
    resource = df.CharFilter(field_name="resource__slug")
    resource_owner = df.CharFilter(
        field_name="resource__owner_team__slug",
        help_text="Connections to the resources this team owns (its owners see every one).",
    )

    class Meta:
        model = Connection
        fields = ["agent", "resource", "resource_owner", "status", "trust_floor"]


class WorkflowFilter(df.FilterSet):
    owner_team = df.CharFilter(field_name="owner_team__slug")

    class Meta:
        model = Workflow
        fields = ["owner_team"]


class WorkflowRunFilter(df.FilterSet):
    workflow = df.CharFilter(field_name="workflow__slug")
    started_after = UtcIsoDateTimeFilter(field_name="started_at", lookup_expr="gte")

    class Meta:
        model = WorkflowRun
        fields = ["workflow", "status"]
