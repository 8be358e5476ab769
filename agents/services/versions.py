"""Versions of agents and their transitions: a version that asks for different access.

A new version whose requested scopes differ from the agent's active grants opens a *scope
review* (``AgentVersion.scope_review``, the difference in ``scopes_added``/``scopes_removed``):
the version is recorded but not current, and stays unreviewed, so the trust engine holds the
agent at PENDING (``cap_unreviewed_version``) until a reviewer outside the team decides
(``governance.grants.versions``). Approving grants the added scopes and makes the version
current, which revokes the removed ones (``agent_version_activate``); denying leaves the current
version as it was. An agent's first version asks through grants and grant requests instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from audit.principals import By, actor_principal
from audit.services import record

from ..errors import InvalidTransition
from ..events import trust_signals_changed
from ..models import Agent, AgentVersion, Scope, ScopeGrant
from ..notices.services import notify
from ..permissions import security_reviewers
from .grants import grant_end
from .lifecycle import _user


def scope_difference(agent: Agent, scopes: Iterable[Scope]) -> tuple[list[str], list[str]]:
    """(added, removed): scope names the version asks for that the agent does not hold, and
    names it holds that the version no longer asks for."""
    wanted = {s.name for s in scopes}
    held = set(
        ScopeGrant.objects.active().filter(agent=agent).values_list("scope__name", flat=True)
    )
    return sorted(wanted - held), sorted(held - wanted)


@transaction.atomic
def agent_version_add(
    *,
    agent: Agent,
    label: str,
    config_digest: str,
    requested_scopes: Iterable[Scope] = (),
    by: By = None,
) -> AgentVersion:
    """Record a new version. The first one, or one asking for the access the agent holds,
    becomes current (unreviewed); any other opens a scope review and waits for it."""
    if agent.status == Agent.Status.DECOMMISSIONED:
        raise InvalidTransition(f"agent {agent.slug} is decommissioned")
    version = AgentVersion(agent=agent, label=label, config_digest=config_digest)
    version.full_clean()
    scopes = list(requested_scopes)
    added, removed = scope_difference(agent, scopes)
    transition = agent.current_version_id is not None and (added or removed)
    if transition:
        version.scope_review = AgentVersion.ScopeReview.PENDING
        version.scopes_added, version.scopes_removed = added, removed
    version.save()
    version.requested_scopes.set(scopes)
    if not transition:
        Agent.objects.filter(pk=agent.pk).update(current_version=version, updated_at=timezone.now())
        agent.current_version = version
    record(
        actor=actor_principal(by),
        action="agent.version.add",
        resource=agent.principal,
        target_type="agent_version",
        target_id=version.pk,
        changes={
            "label": label,
            "config_digest": config_digest,
            "requested_scopes": sorted(s.name for s in scopes),
            **({"scopes_added": added, "scopes_removed": removed} if transition else {}),
        },
    )
    if transition:
        body = (
            _difference_text(added, removed)
            + " The version becomes current when a security reviewer outside the team approves "
            "it; until then the agent is held at PENDING."
        )
        subject = f"{agent.slug} {label} asks for different access"
        link = f"/portal/scope-reviews/{version.pk}/"
        notify(
            kind="version.scope_review",
            subject=subject,
            body=body,
            team=agent.owner_team,
            link=link,
            dedupe_key=f"version-review-{version.pk}",
        )
        for reviewer in security_reviewers():
            notify(
                kind="version.scope_review",
                subject=subject,
                body=body,
                user=reviewer,
                link=link,
                dedupe_key=f"version-review-{version.pk}-{reviewer.pk}",
            )
    trust_signals_changed(agent.pk)
    return version


def _difference_text(added: list[str], removed: list[str]) -> str:
    parts = []
    if added:
        parts.append("adds " + ", ".join(added))
    if removed:
        parts.append("drops " + ", ".join(removed))
    return "It " + " and ".join(parts) + "."


@transaction.atomic
def agent_version_review(*, version: AgentVersion, by: By = None) -> AgentVersion:
    """Mark a version's configuration as reviewed (one with a pending scope review is decided
    through that review, never marked here)."""
    locked = AgentVersion.objects.select_for_update().select_related("agent").get(pk=version.pk)
    if locked.reviewed:
        raise InvalidTransition(f"version {locked} is already reviewed")
    if locked.scope_review == AgentVersion.ScopeReview.PENDING:
        raise InvalidTransition(f"version {locked} asks for different access: decide its review")
    _mark_reviewed(locked, by)
    record(
        actor=actor_principal(by),
        action="agent.version.review",
        resource=locked.agent.principal,
        target_type="agent_version",
        target_id=locked.pk,
        changes={"reviewed": [False, True]},
    )
    trust_signals_changed(locked.agent_id)
    version.reviewed, version.reviewed_at = True, locked.reviewed_at
    return locked


def _mark_reviewed(version: AgentVersion, by) -> None:
    version.reviewed = True
    version.reviewed_by = _user(by)
    version.reviewed_at = timezone.now()
    version.save(update_fields=["reviewed", "reviewed_by", "reviewed_at", "scope_review"])


@transaction.atomic
def agent_version_settle(*, version: AgentVersion, approve: bool, by, comment: str) -> AgentVersion:
    """End a version's scope review (the decision itself, its permission and the grants of the
    added scopes are ``governance.grants.versions``'): approved, the version becomes current
    and the scopes it dropped are revoked; denied, nothing else changes."""
    locked = AgentVersion.objects.select_for_update().select_related("agent").get(pk=version.pk)
    if locked.scope_review != AgentVersion.ScopeReview.PENDING:
        raise InvalidTransition(f"version {locked} has no pending scope review")
    agent = locked.agent
    locked.scope_review = (
        AgentVersion.ScopeReview.APPROVED if approve else AgentVersion.ScopeReview.DENIED
    )
    _mark_reviewed(locked, by)
    record(
        actor=actor_principal(by),
        action="agent.version.approve" if approve else "agent.version.deny",
        resource=agent.principal,
        target_type="agent_version",
        target_id=locked.pk,
        reason=comment,
        changes={
            "scope_review": ["pending", locked.scope_review],
            "scopes_added": locked.scopes_added,
            "scopes_removed": locked.scopes_removed,
        },
    )
    if approve:
        Agent.objects.filter(pk=agent.pk).update(current_version=locked, updated_at=timezone.now())
        for grant in (
            ScopeGrant.objects.active()
            .filter(agent=agent, scope__name__in=locked.scopes_removed)
            .select_related("agent", "scope")
        ):
            grant_end(
                grant=grant,
                status=ScopeGrant.Status.REVOKED,
                by=by,
                reason=f"version {locked.label} no longer asks for it",
            )
    notify(
        kind=f"version.scope_review_{'approved' if approve else 'denied'}",
        subject=f"{agent.slug} {locked.label}: {'approved' if approve else 'denied'}",
        body=f"{_difference_text(locked.scopes_added, locked.scopes_removed)} {comment}",
        team=agent.owner_team,
        link=f"/portal/scope-reviews/{locked.pk}/",
        dedupe_key=f"version-review-{locked.pk}-decided",
    )
    trust_signals_changed(agent.pk)
    return locked
