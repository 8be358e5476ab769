"""The create/edit services behind the admin and the API: audited diffs, refusals, no-ops."""

from __future__ import annotations

import decimal

import pytest
from django.core.exceptions import ValidationError

from agents import services
from agents.errors import InvalidTransition, RegistryError
from agents.models import Connection
from audit.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_edit_audits_only_the_changed_fields_and_a_no_op_writes_nothing():
    agent = f.AgentFactory(display_name="Old", purpose="Same.")
    services.agent_update(agent=agent, data={"display_name": "New", "purpose": "Same."})
    entry = AuditEntry.objects.get(action="agent.update")
    assert entry.changes == {"display_name": ["Old", "New"]}
    before = AuditEntry.objects.count()
    services.agent_update(agent=agent, data={"display_name": "New"})
    assert AuditEntry.objects.count() == before


def test_edit_refuses_fields_it_does_not_own():
    agent = f.AgentFactory()
    with pytest.raises(RegistryError, match="cannot change status here"):
        services.agent_update(agent=agent, data={"status": "decommissioned"})
    agent.refresh_from_db()
    assert agent.status == "active"


def test_decommissioned_agent_is_not_edited_or_connected():
    agent = f.AgentFactory(status="decommissioned")
    with pytest.raises(InvalidTransition):
        services.agent_update(agent=agent, data={"display_name": "x"})
    with pytest.raises(InvalidTransition):
        services.connection_create(
            agent=agent, resource=f.ResourceFactory(), allowed_actions=["read"]
        )
    assert not Connection.objects.exists()


def test_connection_lifecycle_audits_before_and_after():
    agent, resource = f.AgentFactory(), f.ResourceFactory()
    for action in ("read", "write"):
        f.ScopeFactory(name=f"{resource.slug}:{action}")
    connection = services.connection_create(
        agent=agent, resource=resource, allowed_actions=["write", "read", "read"]
    )
    assert connection.allowed_actions == ["read", "write"]
    services.connection_update(
        connection=connection, data={"budget_cap": decimal.Decimal("12.5000")}
    )
    entry = AuditEntry.objects.get(action="connection.update")
    assert entry.changes == {"budget_cap": [None, "12.5000"]}
    with pytest.raises(InvalidTransition, match="already connected"):
        services.connection_create(agent=agent, resource=resource, allowed_actions=["read"])
    with pytest.raises(RegistryError, match="invalid action"):
        services.connection_update(connection=connection, data={"allowed_actions": ["a:b"]})
    services.connection_delete(connection=connection, reason="unused")
    assert not Connection.objects.exists()
    assert AuditEntry.objects.get(action="connection.delete").reason == "unused"


def test_version_review_once():
    version = f.AgentVersionFactory()
    reviewer = f.security_reviewer(username="rita")
    services.agent_version_review(version=version, by=reviewer)
    version.refresh_from_db()
    assert version.reviewed and version.reviewed_by == reviewer
    with pytest.raises(InvalidTransition):
        services.agent_version_review(version=version, by=reviewer)


def test_workflow_needs_an_active_team():
    team = f.TeamFactory(is_active=False)
    with pytest.raises(RegistryError, match="not active"):
        services.workflow_create(slug="wf", name="Wf", owner_team=team)


def test_a_connection_allows_only_actions_the_catalogue_covers():
    agent, resource = f.AgentFactory(), f.ResourceFactory()
    f.ScopeFactory(name=f"{resource.slug}:read")
    f.ScopeFactory(name="elsewhere:delete")  # another resource's action covers nothing here
    with pytest.raises(RegistryError, match=r"no scope of resource .* covers 'delete'"):
        services.connection_create(agent=agent, resource=resource, allowed_actions=["delete"])
    connection = services.connection_create(
        agent=agent, resource=resource, allowed_actions=["read"]
    )
    with pytest.raises(RegistryError, match="covers 'write'"):
        services.connection_update(
            connection=connection, data={"allowed_actions": ["read", "write"]}
        )
    connection.refresh_from_db()
    assert connection.allowed_actions == ["read"]
    assert AuditEntry.objects.filter(action="connection.update").count() == 0


def test_a_scope_is_named_for_its_resource_and_action_and_adopted_when_unbound():
    resource = f.ResourceFactory(slug="ledger")
    scope = services.scope_create(resource=resource, action="post", sensitivity="high")
    assert (scope.name, scope.resource, scope.action) == ("ledger:post", resource, "post")
    with pytest.raises(ValidationError):
        services.scope_create(resource=resource, action="post")  # one scope per action
    legacy = f.ScopeFactory(name="billing:read", resource=None)
    other = f.ScopeFactory(name="billingx:read", resource=None)
    billing = services.resource_create(slug="billing", name="Billing", audience="https://b.test")
    legacy.refresh_from_db()
    other.refresh_from_db()
    assert legacy.resource == billing and other.resource is None
    entry = AuditEntry.objects.get(action="resource.create", resource="resource:billing")
    assert entry.changes["adopted_scopes"] == ["billing:read"]
