"""The scope catalogue and the resources it belongs to.

A scope is one action on one resource (``Scope.resource``/``Scope.action``); its name, the
string tokens carry, is derived from them. Registering a resource adopts the legacy scopes
whose name starts with its slug (those the scopes-as-relations migration left unbound).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from audit.changes import snapshot
from audit.principals import By, actor_principal
from audit.services import record

from ..errors import RegistryError
from ..models import Resource, Scope, Team, scope_name_for
from .edits import edit, locked

SCOPE_FIELDS = ("description", "sensitivity")
RESOURCE_FIELDS = ("name", "audience", "owner_team", "sensitivity", "description")


@transaction.atomic
def scope_create(
    *,
    resource: Resource,
    action: str,
    description: str = "",
    sensitivity: str = "low",
    by: By = None,
) -> Scope:
    """Add ``action`` on ``resource`` to the catalogue; its name is ``<resource>:<action>``."""
    name = scope_name_for(resource.slug, action)
    scope = Scope(
        name=name,
        resource=resource,
        action=action,
        description=description,
        sensitivity=sensitivity,
    )
    scope.full_clean()
    scope.save()
    record(
        actor=actor_principal(by),
        action="scope.create",
        resource=f"scope:{name}",
        target_type="scope",
        target_id=scope.pk,
        changes={
            "name": name,
            "resource": resource.slug,
            "action": action,
            "sensitivity": sensitivity,
        },
    )
    return scope


@transaction.atomic
def scope_update(*, scope: Scope, data: Mapping[str, Any], by: By = None) -> Scope:
    """Change a scope's description or sensitivity; its resource and action are its identity."""
    row = locked(Scope, scope.pk)
    return edit(
        row,
        data=data,
        fields=SCOPE_FIELDS,
        by=by,
        action="scope.update",
        resource=f"scope:{row.name}",
        target_type="scope",
    )


def actions_covered(resource: Resource, actions: Iterable[str]) -> set[str]:
    """The ``actions`` some scope of ``resource`` names (one query)."""
    return set(
        Scope.objects.filter(resource=resource, action__in=list(actions)).values_list(
            "action", flat=True
        )
    )


def check_actions(resource: Resource, actions: Any) -> list[str]:
    """Clean a connection's allowed actions: plain names, each one a scope of the resource
    covers, so that every action a connection allows can be decided."""
    if not isinstance(actions, list | tuple) or not actions:
        raise RegistryError("allowed_actions must be a non-empty list of action names")
    cleaned = []
    for action in actions:
        if not isinstance(action, str) or not action.strip() or ":" in action:
            raise RegistryError(f"invalid action {action!r}: use a plain name such as 'read'")
        cleaned.append(action.strip())
    cleaned = sorted(set(cleaned))
    covered = actions_covered(resource, cleaned)
    unknown = [a for a in cleaned if a not in covered]
    if unknown:
        raise RegistryError(
            f"no scope of resource {resource.slug} covers "
            + ", ".join(repr(a) for a in unknown)
            + ": add the scope to the catalogue first"
        )
    return cleaned


@transaction.atomic
def resource_create(
    *,
    slug: str,
    name: str,
    audience: str,
    owner_team: Team | None = None,
    sensitivity: str = "medium",
    description: str = "",
    by: By = None,
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
    adopted = []
    for scope in Scope.objects.select_for_update().filter(
        resource__isnull=True, name__startswith=f"{slug}:"
    ):
        scope.resource = resource
        scope.save(update_fields=["resource"])
        adopted.append(scope.name)
    changes = snapshot(resource, ("slug", *RESOURCE_FIELDS))
    if adopted:
        changes["adopted_scopes"] = sorted(adopted)
    record(
        actor=actor_principal(by),
        action="resource.create",
        resource=f"resource:{slug}",
        target_type="resource",
        target_id=resource.pk,
        changes=changes,
    )
    return resource


@transaction.atomic
def resource_update(*, resource: Resource, data: Mapping[str, Any], by: By = None) -> Resource:
    """Change a resource's name, audience, owner, sensitivity or description."""
    row = locked(Resource, resource.pk)
    return edit(
        row,
        data=data,
        fields=RESOURCE_FIELDS,
        by=by,
        action="resource.update",
        resource=f"resource:{row.slug}",
        target_type="resource",
    )
