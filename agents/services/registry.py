"""Creating and editing registry rows: teams, agents, workflows and the organisation policy.

The scope catalogue and resources are in ``catalogue``, connections in ``connections``.

Each edit is one transaction writing one audit entry with the before/after of the fields that
changed (``audit.changes``); an edit that changes nothing writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from audit.context import recorded_by_service
from audit.principals import By, actor_principal
from audit.services import record

from ..errors import InvalidTransition, RegistryError
from ..models import (
    Agent,
    OrganisationPolicy,
    Team,
    Workflow,
)
from ..permissions import team_group
from .edits import edit as _edit
from .edits import locked as _locked

TEAM_FIELDS = ("name", "description", "is_active")
AGENT_FIELDS = ("display_name", "purpose", "owner_team")
WORKFLOW_FIELDS = ("name", "owner_team", "description")
POLICY_FIELDS = (
    "access_token_lifetime_seconds",
    "max_delegation_depth",
    "credential_max_age_days",
    "rotation_overlap_hours",
    "org_trust_floor",
    "approval_window_minutes",
    "approval_expiry_hours",
    "critical_grant_max_days",
    "approval_separation_of_duties",
    "log_only_rules",
    "quarantine_blocks_tokens",
    "config_review_requires_reviewer",
)


# Teams ---------------------------------------------------------------------------------------


@transaction.atomic
def team_create(
    *, slug: str, name: str, description: str = "", members: Iterable[Any] = (), by: By = None
) -> Team:
    """Create a team with its own auth group, which holds its members and its permissions."""
    team = Team(slug=slug, name=name, description=description)
    team.full_clean()
    team.save()
    group = team_group(team)
    users = list(members)
    with recorded_by_service():
        group.user_set.add(*users)
    record(
        actor=actor_principal(by),
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
def team_update(*, team: Team, data: Mapping[str, Any], by: By = None) -> Team:
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
def team_members_set(*, team: Team, users: Iterable[Any], by: By = None) -> Team:
    """Make ``users`` the team's members (its group's users), auditing who joined and left."""
    group = team_group(team)
    wanted = {u.pk: u for u in users}
    current = {u.pk: u for u in group.user_set.all()}
    joined = [u for pk, u in wanted.items() if pk not in current]
    left = [u for pk, u in current.items() if pk not in wanted]
    if not joined and not left:
        return team
    with recorded_by_service():
        group.user_set.add(*joined)
        group.user_set.remove(*left)
    record(
        actor=actor_principal(by),
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
def agent_update(*, agent: Agent, data: Mapping[str, Any], by: By = None) -> Agent:
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


# Workflows -----------------------------------------------------------------------------------


@transaction.atomic
def workflow_create(
    *, slug: str, name: str, owner_team: Team, description: str = "", by: By = None
) -> Workflow:
    """Register a business process that runs agents."""
    if not owner_team.is_active:
        raise RegistryError(f"team {owner_team.slug} is not active")
    workflow = Workflow(slug=slug, name=name, owner_team=owner_team, description=description)
    workflow.full_clean()
    workflow.save()
    record(
        actor=actor_principal(by),
        action="workflow.create",
        resource=f"workflow:{slug}",
        target_type="workflow",
        target_id=workflow.pk,
        changes={"slug": slug, "name": name, "owner_team": owner_team.slug},
    )
    return workflow


@transaction.atomic
def workflow_update(*, workflow: Workflow, data: Mapping[str, Any], by: By = None) -> Workflow:
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
def policy_update(*, data: Mapping[str, Any], by: By = None) -> OrganisationPolicy:
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
