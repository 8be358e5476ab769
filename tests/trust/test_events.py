"""Events that change a signal queue the trust task on commit; the task recomputes."""

from __future__ import annotations

import pytest

from agents import services as agent_services
from agents.models import Agent
from credentials.models import Credential
from credentials.services import credential_revoke
from trust.models import TrustComputation
from trust.tasks import recompute_agent
from trust.usage.models import UsageHour
from trust.usage.selectors import denial_bursts

from .conftest import ago, sound_agent

pytestmark = pytest.mark.django_db


def test_suspension_and_revocation_queue_a_recomputation_on_commit(
    django_capture_on_commit_callbacks,
):
    agent = sound_agent()
    recompute_agent(agent.pk)
    with django_capture_on_commit_callbacks() as queued:
        agent_services.agent_suspend(agent=agent, by="system", reason="incident")
    assert len(queued) == 1
    recompute_agent(agent.pk)  # what the worker runs
    latest = TrustComputation.objects.filter(agent=agent).first()
    assert latest.level == "untrusted" and latest.caps == ["agent_suspended"]
    assert Agent.objects.get(pk=agent.pk).trust_level == "untrusted"

    other = sound_agent()
    with django_capture_on_commit_callbacks() as queued:
        credential_revoke(credential=Credential.objects.get(agent=other), by="system")
    assert len(queued) == 1


def test_new_version_caps_at_pending(django_capture_on_commit_callbacks):
    agent = sound_agent()
    with django_capture_on_commit_callbacks() as queued:
        agent_services.agent_version_add(
            agent=agent, label="9.9", config_digest="sha256:" + "a" * 64, by="system"
        )
    assert len(queued) == 1
    recompute_agent(agent.pk)
    latest = TrustComputation.objects.filter(agent=agent).first()
    assert "version_unreviewed" in latest.caps


def test_denial_bursts_name_the_agents():
    agent, quiet = sound_agent(), sound_agent()
    UsageHour.objects.create(
        agent=agent,
        hour=ago(minutes=10).replace(minute=0),
        resource="crm",
        action="read",
        denied=60,
    )
    UsageHour.objects.create(
        agent=quiet, hour=ago(minutes=10).replace(minute=0), resource="crm", action="read", denied=3
    )
    assert denial_bursts() == [agent.pk]
