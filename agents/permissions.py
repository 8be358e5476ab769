"""Who may see and change what. Deny by default.

Roles are groups: platform admins manage policy and everything else, security reviewers see
everything and decide reviews and approvals, team members see and manage their teams' agents.

Object permissions (the decision, for whoever picks this up):

* Each ``Team`` has its own auth group ``team:<slug>`` (``Team.group``); the team's members *are*
  that group's users. There is no second membership table to keep in sync.
* django-guardian holds the object permissions, on the **team**: the team's group is granted
  ``agents.view_team`` and ``agents.manage_team`` on its own team when the team is provisioned
  (``team_group``). Guardian's direct foreign-key tables (``TeamGroupObjectPermission``,
  ``TeamUserObjectPermission``) keep these joinable in SQL, so a list is one query.
* Everything a team owns (agents, and through them versions, grants, connections; workflows and
  their runs; credentials in other apps) inherits the team's permissions through the path to its
  owning team (``team_field``, e.g. ``agent__owner_team``). Granting per object would duplicate
  the owner on thousands of rows and go stale when an agent changes team; granting on the team
  cannot. A single user can still be given one team's rights without joining it
  (``assign_perm("agents.view_team", user, team)``): the user table is read too.
* A team member needs both: the ``team-member`` role (may use the UI at all) and the object
  permission on the team (which objects). Taking the role away shuts every team at once.
* Reviewers see everything and may do the containment actions (suspend an agent, revoke a grant,
  mark a version reviewed); they change nothing else. Platform admins (and superusers) may do
  everything. Anonymous and inactive users get nothing.
* Objects outside a user's view are simply absent from the querysets: the admin and the API
  answer 404 for them, never 403, and show no data.

Helpers for other apps: ``restrict(qs, user, team_field=..., write=...)`` for any model that
hangs off a team, ``agents_visible_to``/``agents_managed_by``, ``can_manage_agent`` and friends,
``TeamScopedAdminMixin`` for the admin and ``TeamScopedViewSetMixin`` + ``TeamObjectPermission``
for DRF.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from rest_framework import permissions as drf_permissions

PLATFORM_ADMIN = "platform-admin"
SECURITY_REVIEWER = "security-reviewer"
TEAM_MEMBER = "team-member"
ROLES = (PLATFORM_ADMIN, SECURITY_REVIEWER, TEAM_MEMBER)

VIEW_TEAM = "view_team"
MANAGE_TEAM = "manage_team"
TEAM_GROUP_PERMISSIONS = (VIEW_TEAM, MANAGE_TEAM)


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def has_role(user, role: str) -> bool:
    if not _active(user):
        return False
    cache = getattr(user, "_role_cache", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._role_cache = cache
    return role in cache


def is_platform_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False) and _active(user)) or has_role(
        user, PLATFORM_ADMIN
    )


def is_reviewer(user) -> bool:
    return has_role(user, SECURITY_REVIEWER)


def can_see_everything(user) -> bool:
    return is_platform_admin(user) or is_reviewer(user)


def can_decide(user) -> bool:
    """Reviewers and admins decide reviews, approvals and containment (suspend, revoke)."""
    return can_see_everything(user)


def has_any_role(user) -> bool:
    return is_platform_admin(user) or any(has_role(user, role) for role in ROLES)


def is_team_member(user) -> bool:
    return has_role(user, TEAM_MEMBER)


def team_group(team) -> Group:
    """The team's auth group, created with its guardian object permissions if missing."""
    if team.group_id:
        return team.group
    from guardian.shortcuts import assign_perm

    from .models import Team

    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=f"team:{team.slug}")
        Team.objects.filter(pk=team.pk).update(group=group)
        team.group = group
        for codename in TEAM_GROUP_PERMISSIONS:
            assign_perm(f"agents.{codename}", group, team)
    return group


def restrict(queryset: QuerySet, user, *, team_field: str, write: bool = False) -> QuerySet:
    """The rows of ``queryset`` the user may see (or, with ``write``, change).

    ``team_field`` is the lookup path from the model to its owning team (``"pk"`` for teams
    themselves). Returns a lazy queryset with the permission as subqueries: one SQL query.
    """
    if not _active(user):
        return queryset.none()
    if is_platform_admin(user) or (not write and is_reviewer(user)):
        return queryset
    if not is_team_member(user):
        return queryset.none()
    from .models import TeamGroupObjectPermission, TeamUserObjectPermission

    perm = {
        "permission__codename": MANAGE_TEAM if write else VIEW_TEAM,
        "permission__content_type__app_label": "agents",
    }
    by_group = TeamGroupObjectPermission.objects.filter(group__user=user, **perm).values(
        "content_object_id"
    )
    by_user = TeamUserObjectPermission.objects.filter(user=user, **perm).values("content_object_id")
    return queryset.filter(
        Q(**{f"{team_field}__in": by_group}) | Q(**{f"{team_field}__in": by_user})
    )


def connections_visible_to(user) -> QuerySet:
    """Connections of the user's agents, and every connection to a resource their team owns
    (resource owners see who is connected to them, whatever the agent's team)."""
    from .models import Connection

    qs = Connection.objects.all()
    ours = restrict(qs, user, team_field="agent__owner_team")
    theirs = restrict(qs, user, team_field="resource__owner_team")
    return qs.filter(Q(pk__in=ours.values("pk")) | Q(pk__in=theirs.values("pk")))


def teams_visible_to(user) -> QuerySet:
    from .models import Team

    return restrict(Team.objects.all(), user, team_field="pk")


def teams_managed_by(user) -> QuerySet:
    """Teams the user may create and change things for."""
    from .models import Team

    return restrict(Team.objects.all(), user, team_field="pk", write=True)


def agents_visible_to(user) -> QuerySet:
    from .models import Agent

    return restrict(Agent.objects.all(), user, team_field="owner_team")


def agents_managed_by(user) -> QuerySet:
    from .models import Agent

    return restrict(Agent.objects.all(), user, team_field="owner_team", write=True)


def can_view_team(user, team_id: int | None) -> bool:
    if team_id is None:
        return can_see_everything(user)
    return teams_visible_to(user).filter(pk=team_id).exists()


def can_manage_team(user, team_id: int | None) -> bool:
    """May the user change what the team owns? ``None`` (no owner) is for platform admins."""
    if team_id is None:
        return is_platform_admin(user)
    return teams_managed_by(user).filter(pk=team_id).exists()


def can_manage_agent(user, agent) -> bool:
    return can_manage_team(user, agent.owner_team_id)


def can_view_agent(user, agent) -> bool:
    return can_view_team(user, agent.owner_team_id)


def can_contain_agent(user, agent) -> bool:
    """Suspend an agent or revoke its grants: its team, a reviewer or an admin."""
    return can_decide(user) or can_manage_agent(user, agent)


def security_reviewers() -> QuerySet:
    """The active security reviewers: whom a notice about something to decide goes to."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(groups__name=SECURITY_REVIEWER, is_active=True)


def is_member_of_team(user, team_id: int | None) -> bool:
    """Is ``user`` one of the team's people: in its group, or given a right on it in person?

    Roles do not count here (a platform admin sees every team without belonging to one): this
    is the test of separation of duties.
    """
    if team_id is None or not _active(user):
        return False
    from .models import Team, TeamUserObjectPermission

    return (
        Team.objects.filter(pk=team_id, group__user=user).exists()
        or TeamUserObjectPermission.objects.filter(user=user, content_object_id=team_id).exists()
    )


def team_id_of(obj: Model, team_field: str) -> int | None:
    """The owning team's id of ``obj`` by following ``team_field`` (``agent__owner_team``)."""
    if team_field == "pk":
        return obj.pk
    *path, last = team_field.split("__")
    for name in path:
        obj = getattr(obj, name)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id")


class TeamScopedAdminMixin:
    """Admin for a model that hangs off a team: lists and objects limited to what one may see.

    Objects outside the user's view answer 404 on change, history, delete and in actions.
    Changing needs ``manage_team`` on the owner; reviewers get a read-only view.
    """

    team_field = "owner_team"

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), request.user, team_field=self.team_field)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj

    def has_module_permission(self, request) -> bool:
        return request.user.is_staff and has_any_role(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return is_platform_admin(request.user) or is_team_member(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is None:
            return is_platform_admin(request.user) or is_team_member(request.user)
        return can_manage_team(request.user, team_id_of(obj, self.team_field))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def response_action(self, request, queryset):
        # An action on a row one cannot see is a 404, like opening it.
        selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        # (the changelist always posts select_across, "0" unless "select all" was used)
        if selected and request.POST.get("select_across", "0") in ("", "0"):
            try:
                found = self.get_queryset(request).filter(pk__in=selected).count()
            except (ValueError, TypeError) as exc:
                raise Http404("No such object.") from exc
            if found != len(set(selected)):
                raise Http404("No such object.")
        return super().response_action(request, queryset)


class TeamScopedViewSetMixin:
    """DRF: ``get_queryset`` limited to the rows the user may see (others are a 404)."""

    team_field = "owner_team"

    def get_queryset(self):
        return restrict(super().get_queryset(), self.request.user, team_field=self.team_field)


class TeamObjectPermission(drf_permissions.BasePermission):
    """Reads for anyone who sees the row; writes need ``manage_team`` on the owning team.

    Views name extra rights with ``containment_actions`` (the team, reviewers and admins),
    ``decision_actions`` (reviewers and admins only) and ``admin_only_actions``. A view whose
    ``team_field`` is None (catalogue rows with no owner) is writable by platform admins only.
    """

    message = "You may not change this object."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not has_any_role(user):
            return False
        if request.method in drf_permissions.SAFE_METHODS or getattr(view, "detail", False):
            # On one object the object check decides, after rows one cannot see gave 404.
            return True
        if getattr(view, "action", None) in getattr(view, "admin_only_actions", ()):
            return is_platform_admin(user)
        return is_platform_admin(user) or is_team_member(user)

    def has_object_permission(self, request, view, obj: Any) -> bool:
        if request.method in drf_permissions.SAFE_METHODS:
            return True
        user = request.user
        action = getattr(view, "action", None)
        if action in getattr(view, "admin_only_actions", ()):
            return is_platform_admin(user)
        if action in getattr(view, "decision_actions", ()):
            return can_decide(user)
        if action in getattr(view, "containment_actions", ()) and can_decide(user):
            return True
        team_field = getattr(view, "team_field", None)
        if team_field is None:
            return is_platform_admin(user)
        return can_manage_team(user, team_id_of(obj, team_field))
