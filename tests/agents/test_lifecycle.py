"""Lifecycle transitions of agents, grants and runs, valid and invalid."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agents import services
from agents.errors import GrantError, InvalidTransition
from agents.models import Agent, ScopeGrant, WorkflowRun
from audit.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_register_audits_and_starts_active_untrusted():
    team = f.TeamFactory()
    alice = f.team_member(team, username="alice")
    agent = services.agent_register(
        slug="invoice-reconciler",
        display_name="Invoice reconciler",
        purpose="Reconciles.",
        owner_team=team,
        by=alice,
    )
    assert agent.status == Agent.Status.ACTIVE
    assert agent.trust_level == "untrusted"
    entry = AuditEntry.objects.get(action="agent.register")
    assert entry.actor == "user:alice"
    assert entry.resource == "agent:invoice-reconciler"


@pytest.mark.parametrize("slug", ["Bad", "a:b", "-x", "x-", "", "a" * 65, "naïve"])
def test_register_rejects_bad_slugs_and_writes_nothing(slug):
    from django.core.exceptions import ValidationError

    team = f.TeamFactory()  # (making its auth group is audited by the audit app)
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        services.agent_register(slug=slug, display_name="x", purpose="x", owner_team=team)
    assert not Agent.objects.exists()
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    ("start", "service", "end"),
    [
        ("active", services.agent_suspend, "suspended"),
        ("suspended", services.agent_reactivate, "active"),
        ("active", services.agent_decommission, "decommissioned"),
        ("suspended", services.agent_decommission, "decommissioned"),
    ],
)
def test_valid_transitions(start, service, end):
    agent = f.AgentFactory(status=start)
    service(agent=agent, reason="test")
    agent.refresh_from_db()
    assert agent.status == end
    assert AuditEntry.objects.filter(target_id=str(agent.pk), reason="test").count() == 1


@pytest.mark.parametrize(
    ("start", "service"),
    [
        ("suspended", services.agent_suspend),
        ("decommissioned", services.agent_suspend),
        ("active", services.agent_reactivate),
        ("decommissioned", services.agent_reactivate),
        ("decommissioned", services.agent_decommission),
    ],
)
def test_invalid_transitions_raise_and_change_nothing(start, service):
    agent = f.AgentFactory(status=start)
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidTransition):
        service(agent=agent)
    agent.refresh_from_db()
    assert agent.status == start
    assert AuditEntry.objects.count() == before


def test_decommission_revokes_grants():
    grant = f.ScopeGrantFactory()
    services.agent_decommission(agent=grant.agent)
    grant.refresh_from_db()
    assert grant.status == ScopeGrant.Status.REVOKED


def test_grant_and_revoke():
    agent = f.AgentFactory()
    scope = f.ScopeFactory(name="ledger:read")
    grant = services.scope_grant(agent=agent, scope=scope, justification="reads the ledger")
    with pytest.raises(GrantError):
        services.scope_grant(agent=agent, scope=scope, justification="again")
    services.scope_revoke(grant=grant, reason="no longer needed")
    with pytest.raises(GrantError):
        services.scope_revoke(grant=grant)
    assert ScopeGrant.objects.get(pk=grant.pk).status == "revoked"


@pytest.mark.parametrize("status", ["suspended", "decommissioned"])
def test_grant_needs_an_active_agent(status):
    with pytest.raises(GrantError):
        services.scope_grant(
            agent=f.AgentFactory(status=status), scope=f.ScopeFactory(), justification="x"
        )
    assert not ScopeGrant.objects.exists()


def test_grant_needs_justification_and_future_expiry():
    agent, scope = f.AgentFactory(), f.ScopeFactory()
    with pytest.raises(GrantError):
        services.scope_grant(agent=agent, scope=scope, justification="  ")
    with pytest.raises(GrantError):
        services.scope_grant(
            agent=agent,
            scope=scope,
            justification="x",
            expires_at=timezone.now() - dt.timedelta(seconds=1),
        )


def test_expire_grants_task_is_idempotent():
    from agents.tasks import expire_grants

    past = timezone.now() - dt.timedelta(minutes=1)
    lapsed = f.ScopeGrantFactory(expires_at=past)
    live = f.ScopeGrantFactory(expires_at=timezone.now() + dt.timedelta(days=1))
    assert expire_grants.apply().get() == 1
    assert expire_grants.apply().get() == 0
    lapsed.refresh_from_db()
    live.refresh_from_db()
    assert (lapsed.status, live.status) == ("expired", "active")


def test_run_complete_and_cancel():
    run = services.run_start(
        workflow=f.WorkflowFactory(), run_id="close-2025-11", triggered_by="user:alice"
    )
    services.run_complete(run=run)
    assert WorkflowRun.objects.get(pk=run.pk).status == "completed"
    with pytest.raises(InvalidTransition):
        services.run_cancel(run=run)
    other = f.WorkflowRunFactory()
    services.run_cancel(run=other)
    assert WorkflowRun.objects.get(pk=other.pk).status == "cancelled"
