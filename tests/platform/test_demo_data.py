"""``manage.py demo_data``: a believable organisation, made through services, idempotent."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from agents.models import Agent, ScopeGrant, WorkflowRun
from agents.permissions import can_see_everything, is_platform_admin
from audit.models import AuditEntry
from trust.models import TrustComputation

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    models = [
        *apps.get_app_config("agents").get_models(),
        get_user_model(),
        AuditEntry,
    ]
    return {m._meta.label: m.objects.count() for m in models}


def test_demo_data_is_believable_and_idempotent():
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    assert "created 7 users" in out.getvalue()
    first = counts()
    call_command("demo_data", stdout=io.StringIO())
    assert counts() == first  # no new rows, no new audit entries

    assert Agent.objects.count() >= 12
    statuses = set(Agent.objects.values_list("status", flat=True))
    assert statuses == {"active", "suspended", "decommissioned"}
    assert set(Agent.objects.values_list("trust_level", flat=True)) == {
        "trusted",
        "pending",
        "untrusted",
    }
    assert ScopeGrant.objects.filter(status="active", expires_at__isnull=False).exists()
    assert ScopeGrant.objects.filter(status="revoked").exists()  # the decommissioned agent's
    assert WorkflowRun.objects.filter(status="completed").count() >= 3
    assert WorkflowRun.objects.filter(status="running").exists()

    users = {u.username: u for u in get_user_model().objects.all()}
    assert users["admin"].check_password("demo-portal-2026")
    assert is_platform_admin(users["admin"])
    assert can_see_everything(users["reviewer"])
    alice_sees = set(
        Agent.objects.visible_to(users["alice"]).values_list("owner_team__slug", flat=True)
    )
    assert alice_sees == {"finance-ops"}
    dan_sees = set(
        Agent.objects.visible_to(users["dan"]).values_list("owner_team__slug", flat=True)
    )
    assert dan_sees == {"platform", "customer-support"}

    # The audit log tells the true story: who registered, granted, reviewed, suspended.
    register = AuditEntry.objects.get(action="agent.register", resource="agent:invoice-reconciler")
    assert register.actor == "user:alice"
    suspend = AuditEntry.objects.get(action="agent.suspend", resource="agent:refund-assistant")
    assert suspend.actor == "user:reviewer"
    # Levels come from the engine, none set by hand; the surge on payments shows in the history.
    assert not AuditEntry.objects.filter(action__in=["trust.set", "trust.pin"]).exists()
    levels = dict(Agent.objects.values_list("slug", "trust_level"))
    assert levels["invoice-reconciler"] == "trusted"
    assert levels["payment-scheduler"] == "pending"
    assert levels["expense-auditor"] == "untrusted"
    assert levels["refund-assistant"] == "untrusted"  # suspended
    surge = TrustComputation.objects.filter(agent__slug="payment-scheduler").first()
    assert any(f["code"] == "volume_unusual" for f in surge.factors)
    assert AuditEntry.objects.filter(action="run.complete").exists()


def test_demo_data_leaves_later_changes_alone():
    from agents import services

    call_command("demo_data", stdout=io.StringIO())
    agent = Agent.objects.get(slug="refund-assistant")
    services.agent_reactivate(agent=agent, reason="review done")
    call_command("demo_data", stdout=io.StringIO())
    assert Agent.objects.get(slug="refund-assistant").status == "active"
