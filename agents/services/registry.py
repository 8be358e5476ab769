"""Creating and editing registry rows (teams, agents, catalogue, connections, workflows, policy).

Each edit is one transaction writing one audit entry with the before/after of the fields that
changed (``audit.changes``); an edit that changes nothing writes nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from audit.changes import diff, snapshot
from audit.services import record

from ..errors import InvalidTransition, RegistryError
from ..models import (
    Agent,
    AgentVersion,
    Connection,
    OrganisationPolicy,
    Resource,
    Scope,
    Team,
    Workflow,
)
from ..permissions import team_group
from .lifecycle import _actor, _user

TEAM_FIELDS = ("name", "description", "is_active")
AGENT_FIELDS = ("display_name", "purpose", "owner_team")
SCOPE_FIELDS = ("description", "sensitivity")
RESOURCE_FIELDS = ("name", "audience", "owner_team", "sensitivity", "description")
CONNECTION_FIELDS = (
    "allowed_actions",
    "rate_limit",
    "rate_window_seconds",
    "budget_cap",
    "budget_period",
    "trust_floor",
    "log_only_rules",
    "expires_at",
)
WORKFLOW_FIELDS = ("name", "owner_team", "description")
POLICY_FIELDS = (
    "access_token_lifetime_seconds",
    "max_delegation_depth",
    "credential_max_age_days",
    "rotation_overlap_hours",
    "org_trust_floor",
    "approval_window_minutes",
    "approval_expiry_hours",
    "log_only_rules",
)


def _edit(
    instance: models.Model,
    *,
    data: Mapping[str, Any],
    fields: Iterable[str],
    by,
    action: str,
    resource: str,
    target_type: str,
) -> models.Model:
    """Apply ``data`` (only ``fields``), validate, save what changed and audit the diff."""
    fields = tuple(fields)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RegistryError(f"cannot change {', '.join(unknown)} here")
    before = snapshot(instance, fields)
    for name, value in data.items():
        setattr(instance, name, value)
    instance.full_clean()
    changes = diff(before, snapshot(instance, fields))
    if not changes:
        return instance
    update = list(changes)
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        update.append("updated_at")
    instance.save(update_fields=update)
    record(
        actor=_actor(by),
        action=action,
        resource=resource,
        target_type=target_type,
        target_id=instance.pk,
        changes=changes,
    )
    return instance


def _locked(model: type[models.Model], pk: int) -> Any:
    return model.objects.select_for_update().get(pk=pk)


# Teams ---------------------------------------------------------------------------------------


@transaction.atomic
def team_create(
    *, slug: str, name: str, description: str = "", members: Iterable[Any] = (), by=None
) -> Team:
    """Create a team with its own auth group, which holds its members and its permissions."""
    team = Team(slug=slug, name=name, description=description)
    team.full_clean()
    team.save()
    group = team_group(team)
    users = list(members)
    group.user_set.add(*users)
    record(
        actor=_actor(by),
        action="team.create",
        resource=f"team:{slug}",
        target_type="team",
        target_id=team.pk,
        changes={
            "slug": slug,
            "name": name,
            "members": sorted(u.get_username() for u in users),
        },
    )
    return team


@transaction.atomic
def team_update(*, team: Team, data: Mapping[str, Any], by=None) -> Team:
    """Change a team's name, description or active flag."""
    locked = _locked(Team, team.pk)
    _edit(
        locked,
        data=data,
        fields=TEAM_FIELDS,
        by=by,
        action="team.update",
        resource=f"team:{locked.slug}",
        target_type="team",
    )
    for name in data:
        setattr(team, name, getattr(locked, name))
    return locked


@transaction.atomic
def team_members_set(*, team: Team, users: Iterable[Any], by=None) -> Team:
    """Make ``users`` the team's members (its group's users), auditing who joined and left."""
    group = team_group(team)
    wanted = {u.pk: u for u in users}
    current = {u.pk: u for u in group.user_set.all()}
    joined = [u for pk, u in wanted.items() if pk not in current]
    left = [u for pk, u in current.items() if pk not in wanted]
    if not joined and not left:
        return team
    group.user_set.add(*joined)
    group.user_set.remove(*left)
    record(
        actor=_actor(by),
        action="team.members",
        resource=f"team:{team.slug}",
        target_type="team",
        target_id=team.pk,
        changes={
            "members": [
                sorted(u.get_username() for u in current.values()),
                sorted(u.get_username() for u in wanted.values()),
            ]
        },
    )
    return team


# Agents --------------------------------------------------------------------------------------


@transaction.atomic
def agent_update(*, agent: Agent, data: Mapping[str, Any], by=None) -> Agent:
    """Change an agent's name, purpose or owning team; never its status (use the lifecycle)."""
    locked = _locked(Agent, agent.pk)
    if locked.status == Agent.Status.DECOMMISSIONED:
        raise InvalidTransition(f"agent {locked.slug} is decommissioned")
    team = data.get("owner_team")
    if team is not None and team.pk != locked.owner_team_id and not team.is_active:
        raise RegistryError(f"team {team.slug} is not active")
    _edit(
        locked,
        data=data,
        fields=AGENT_FIELDS,
        by=by,
        action="agent.update",
        resource=locked.principal,
        target_type="agent",
    )
    for name in data:
        setattr(agent, name, getattr(locked, name))
    return locked


@transaction.atomic
def agent_version_review(*, version: AgentVersion, by=None) -> AgentVersion:
    """Mark a version's configuration and requested scopes as reviewed."""
    locked = AgentVersion.objects.select_for_update().select_related("agent").get(pk=version.pk)
    if locked.reviewed:
        raise InvalidTransition(f"version {locked} is already reviewed")
    locked.reviewed = True
    locked.reviewed_by = _user(by)
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["reviewed", "reviewed_by", "reviewed_at"])
    record(
        actor=_actor(by),
        action="agent.version.review",
        resource=locked.agent.principal,
        target_type="agent_version",
        target_id=locked.pk,
        changes={"reviewed": [False, True]},
    )
    version.reviewed, version.reviewed_at = True, locked.reviewed_at
    return locked


# Scope catalogue and resources ---------------------------------------------------------------


@transaction.atomic
def scope_create(*, name: str, description: str = "", sensitivity: str = "low", by=None) -> Scope:
    """Add a ``resource:action`` scope to the catalogue."""
    scope = Scope(name=name, description=description, sensitivity=sensitivity)
    scope.full_clean()
    scope.save()
    record(
        actor=_actor(by),
        action="scope.create",
        resource=f"scope:{name}",
        target_type="scope",
        target_id=scope.pk,
        changes={"name": name, "sensitivity": sensitivity},
    )
    return scope


@transaction.atomic
def scope_update(*, scope: Scope, data: Mapping[str, Any], by=None) -> Scope:
    """Change a scope's description or sensitivity; its name is its identity."""
    locked = _locked(Scope, scope.pk)
    return _edit(
        locked,
        data=data,
        fields=SCOPE_FIELDS,
        by=by,
        action="scope.update",
        resource=f"scope:{locked.name}",
        target_type="scope",
    )


@transaction.atomic
def resource_create(
    *,
    slug: str,
    name: str,
    audience: str,
    owner_team: Team | None = None,
    sensitivity: str = "medium",
    description: str = "",
    by=None,
) -> Resource:
    """Register a downstream system (a resource server) and its audience URI."""
    resource = Resource(
        slug=slug,
        name=name,
        audience=audience,
        owner_team=owner_team,
        sensitivity=sensitivity,
        description=description,
    )
    resource.full_clean()
    resource.save()
    record(
        actor=_actor(by),
        action="resource.create",
        resource=f"resource:{slug}",
        target_type="resource",
        target_id=resource.pk,
        changes=snapshot(resource, ("slug", *RESOURCE_FIELDS)),
    )
    return resource


@transaction.atomic
def resource_update(*, resource: Resource, data: Mapping[str, Any], by=None) -> Resource:
    """Change a resource's name, audience, owner, sensitivity or description."""
    locked = _locked(Resource, resource.pk)
    return _edit(
        locked,
        data=data,
        fields=RESOURCE_FIELDS,
        by=by,
        action="resource.update",
        resource=f"resource:{locked.slug}",
        target_type="resource",
    )


# Connections ---------------------------------------------------------------------------------


def _check_actions(actions: Any) -> list[str]:
    if not isinstance(actions, list | tuple) or not actions:
        raise RegistryError("allowed_actions must be a non-empty list of action names")
    cleaned = []
    for action in actions:
        if not isinstance(action, str) or not action.strip() or ":" in action:
            raise RegistryError(f"invalid action {action!r}: use a plain name such as 'read'")
        cleaned.append(action.strip())
    return sorted(set(cleaned))


@transaction.atomic
def connection_create(
    *,
    agent: Agent,
    resource: Resource,
    allowed_actions: Iterable[str],
    by=None,
    rate_limit: int | None = None,
    rate_window_seconds: int = 60,
    budget_cap: decimal.Decimal | None = None,
    budget_period: str = Connection.BudgetPeriod.DAY,
    trust_floor: str = "pending",
    log_only_rules: Iterable[str] = (),
    expires_at: dt.datetime | None = None,
) -> Connection:
    """Connect an agent to a resource: the actions it may take there and the limits."""
    if agent.status == Agent.Status.DECOMMISSIONED:
        raise InvalidTransition(f"agent {agent.slug} is decommissioned")
    if Connection.objects.filter(agent=agent, resource=resource).exists():
        raise InvalidTransition(f"agent {agent.slug} is already connected to {resource.slug}")
    connection = Connection(
        agent=agent,
        resource=resource,
        allowed_actions=_check_actions(list(allowed_actions)),
        rate_limit=rate_limit,
        rate_window_seconds=rate_window_seconds,
        budget_cap=budget_cap,
        budget_period=budget_period,
        trust_floor=trust_floor,
        log_only_rules=list(log_only_rules),
        expires_at=expires_at,
    )
    connection.full_clean()
    connection.save()
    record(
        actor=_actor(by),
        action="connection.create",
        resource=agent.principal,
        target_type="connection",
        target_id=connection.pk,
        changes={"resource": resource.slug, **snapshot(connection, CONNECTION_FIELDS)},
    )
    return connection


@transaction.atomic
def connection_update(*, connection: Connection, data: Mapping[str, Any], by=None) -> Connection:
    """Change what a connection allows and its limits; agent and resource stay fixed."""
    locked = Connection.objects.select_for_update().select_related("agent").get(pk=connection.pk)
    data = dict(data)
    if "allowed_actions" in data:
        data["allowed_actions"] = _check_actions(data["allowed_actions"])
    return _edit(
        locked,
        data=data,
        fields=CONNECTION_FIELDS,
        by=by,
        action="connection.update",
        resource=locked.agent.principal,
        target_type="connection",
    )


@transaction.atomic
def connection_delete(*, connection: Connection, by=None, reason: str = "") -> None:
    """Remove a connection: the agent can no longer act on that resource."""
    locked = (
        Connection.objects.select_for_update()
        .select_related("agent", "resource")
        .get(pk=connection.pk)
    )
    record(
        actor=_actor(by),
        action="connection.delete",
        resource=locked.agent.principal,
        target_type="connection",
        target_id=locked.pk,
        reason=reason,
        changes={"resource": locked.resource.slug, **snapshot(locked, CONNECTION_FIELDS)},
    )
    locked.delete()


# Workflows -----------------------------------------------------------------------------------


@transaction.atomic
def workflow_create(
    *, slug: str, name: str, owner_team: Team, description: str = "", by=None
) -> Workflow:
    """Register a business process that runs agents."""
    if not owner_team.is_active:
        raise RegistryError(f"team {owner_team.slug} is not active")
    workflow = Workflow(slug=slug, name=name, owner_team=owner_team, description=description)
    workflow.full_clean()
    workflow.save()
    record(
        actor=_actor(by),
        action="workflow.create",
        resource=f"workflow:{slug}",
        target_type="workflow",
        target_id=workflow.pk,
        changes={"slug": slug, "name": name, "owner_team": owner_team.slug},
    )
    return workflow


@transaction.atomic
def workflow_update(*, workflow: Workflow, data: Mapping[str, Any], by=None) -> Workflow:
    """Change a workflow's name, owning team or description."""
    locked = _locked(Workflow, workflow.pk)
    return _edit(
        locked,
        data=data,
        fields=WORKFLOW_FIELDS,
        by=by,
        action="workflow.update",
        resource=f"workflow:{locked.slug}",
        target_type="workflow",
    )


# Organisation policy -------------------------------------------------------------------------


@transaction.atomic
def policy_update(*, data: Mapping[str, Any], by=None) -> OrganisationPolicy:
    """Change the organisation policy (the single row)."""
    OrganisationPolicy.current()
    locked = _locked(OrganisationPolicy, 1)
    return _edit(
        locked,
        data=data,
        fields=POLICY_FIELDS,
        by=by,
        action="policy.update",
        resource="policy:organisation",
        target_type="organisation_policy",
    )
