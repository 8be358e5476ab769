"""Pins: a level set by a reviewer or admin for a while, audited, shown as a pin; they expire."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from agents.models import Agent
from audit.models import AuditEntry
from tests import factories as f
from trust.errors import TrustError, TrustForbidden
from trust.models import TrustComputation, TrustPin
from trust.recompute import recompute_agents
from trust.services import trust_level_set, trust_pin, trust_pin_release, trust_pins_expire
from trust.tasks import recompute_every_agent

from .conftest import sound_agent

pytestmark = pytest.mark.django_db


def test_trust_level_set_is_a_pin_with_a_score_and_audited():
    agent = f.AgentFactory(trust_level="untrusted")  # as registered
    admin = f.platform_admin(username="root")
    trust_level_set(agent=agent, score=82, level="trusted", reason="attested by SOC", by=admin)
    agent.refresh_from_db()
    assert (agent.trust_score, agent.trust_level) == (82, "trusted")
    pin = TrustPin.objects.get(agent=agent)
    assert pin.level == "trusted" and pin.ended_at is None
    assert pin.expires_at - timezone.now() > dt.timedelta(days=29)  # the policy's longest pin
    entry = AuditEntry.objects.get(action="trust.pin")
    assert entry.actor == "user:root"
    assert entry.reason == "attested by SOC"
    assert entry.changes == {"trust_score": [0, 82], "trust_level": ["untrusted", "trusted"]}


@pytest.mark.parametrize(
    ("score", "level", "reason"),
    [
        (-1, "trusted", "r"),
        (101, "trusted", "r"),
        (50.5, "trusted", "r"),
        (True, "trusted", "r"),
        ("50", "trusted", "r"),
        (50, "godlike", "r"),
        (50, "pending", ""),
        (50, "pending", "   "),
    ],
)
def test_rejects_bad_input_and_changes_nothing(score, level, reason):
    agent = f.AgentFactory(trust_level="untrusted")  # as registered
    with pytest.raises(TrustError):
        trust_level_set(agent=agent, score=score, level=level, reason=reason, by="system")
    agent.refresh_from_db()
    assert (agent.trust_score, agent.trust_level) == (0, "untrusted")
    assert not TrustPin.objects.exists()
    assert not AuditEntry.objects.filter(action="trust.pin").exists()


def test_only_reviewers_and_admins_pin_and_expiry_is_bounded():
    agent = f.AgentFactory(trust_level="untrusted")  # as registered
    with pytest.raises(TrustForbidden):
        trust_pin(agent=agent, level="trusted", reason="x", by=f.team_member(agent.owner_team))
    reviewer = f.security_reviewer()
    with pytest.raises(TrustError, match="at most 30 days"):
        trust_pin(
            agent=agent,
            level="trusted",
            reason="x",
            by=reviewer,
            expires_at=timezone.now() + dt.timedelta(days=31),
        )
    with pytest.raises(TrustError, match="future"):
        trust_pin(
            agent=agent,
            level="trusted",
            reason="x",
            by=reviewer,
            expires_at=timezone.now() - dt.timedelta(minutes=1),
        )
    trust_pin(agent=agent, level="pending", reason="x", by=reviewer)
    second = trust_pin(agent=agent, level="trusted", reason="y", by=reviewer)
    assert TrustPin.objects.filter(agent=agent, ended_at__isnull=True).get() == second


def test_pin_holds_against_recomputation_and_is_stored_as_a_pin():
    agent = sound_agent(credential=False)  # the engine says UNTRUSTED
    trust_pin(agent=agent, level="trusted", reason="incident drill", by="system")
    recompute_agents([agent.pk])
    agent.refresh_from_db()
    assert agent.trust_level == "trusted"
    row = TrustComputation.objects.get(agent=agent)
    assert (row.computed_level, row.level, row.pin_id is not None) == ("untrusted", "trusted", True)
    assert agent.trust_score == row.score  # the score stays the engine's


def test_pins_expire_and_the_engine_takes_over():
    agent = sound_agent(credential=False)
    pin = trust_pin(
        agent=agent,
        level="trusted",
        reason="drill",
        by="system",
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    TrustPin.objects.filter(pk=pin.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    # Even before the sweep, an expired pin no longer applies.
    recompute_agents([agent.pk])
    agent.refresh_from_db()
    assert agent.trust_level == "untrusted"
    result = recompute_every_agent()
    assert result["pins_expired"] == 1
    pin.refresh_from_db()
    assert pin.ended_at is not None and pin.ended_by == "system"
    assert AuditEntry.objects.filter(action="trust.pin_expire", target_id=str(agent.pk)).exists()
    assert trust_pins_expire() == []


def test_release_ends_the_pin():
    agent = f.AgentFactory(trust_level="untrusted")  # as registered
    trust_pin(agent=agent, level="trusted", reason="x", by="system")
    trust_pin_release(agent=agent, reason="done", by=f.platform_admin())
    assert not TrustPin.objects.filter(ended_at__isnull=True).exists()
    with pytest.raises(TrustError, match="no pin"):
        trust_pin_release(agent=agent, reason="again", by="system")


def test_admin_pin_goes_through_service_and_only_reviewers_and_admins_may(client):
    agent = f.AgentFactory(trust_level="untrusted")  # as registered
    url = f"/admin/trust/agenttrust/{agent.pk}/change/"
    client.force_login(f.team_member(agent.owner_team))
    assert client.get(url).status_code in (302, 403)
    reviewer = f.security_reviewer(username="rev")
    client.force_login(reviewer)
    assert client.get(url).status_code == 200
    resp = client.post(url, {"pin_level": "trusted", "reason": ""})
    assert resp.status_code == 200  # the form asks for a reason again
    resp = client.post(url, {"pin_level": "trusted", "reason": "reviewed"})
    assert resp.status_code == 302
    agent.refresh_from_db()
    assert agent.trust_level == "trusted"
    assert AuditEntry.objects.get(action="trust.pin").actor == "user:rev"
    assert Agent.objects.get(pk=agent.pk).status == "active"


def _cli(*args):
    out = io.StringIO()
    call_command("trust", *args, stdout=out)
    return out.getvalue()


def test_cli_set_is_a_pin_show_explain_recompute():
    agent = sound_agent(slug="cli-agent")
    f.platform_admin(username="root")
    f.team_member(username="dev")
    data = json.loads(
        _cli("set", "cli-agent", "--level=pending", "--reason=r", "--by=root", "--json")
    )
    assert data["trust_level"] == "pending" and data["pin"]["by"] == "user:root"
    with pytest.raises(CommandError, match="not a security reviewer"):
        _cli("set", "cli-agent", "--level=trusted", "--reason=r", "--by=dev")
    with pytest.raises(CommandError, match="ISO 8601"):
        _cli("set", "cli-agent", "--level=trusted", "--reason=r", "--until=tomorrow")
    explained = json.loads(_cli("explain", "cli-agent", "--json"))
    assert explained["pinned"] is True and explained["computed_level"] == "pending"
    assert "register a key credential: +4" in _cli("explain", "cli-agent")
    _cli("release", "cli-agent", "--reason=done")
    assert "recomputed 1 agents" in _cli("recompute", "cli-agent")
    assert "recomputed" in _cli("recompute", "--all")
    # Inside the test's transaction the processes could not see its rows: it walks in-process.
    assert "recomputed" in _cli("recompute", "--all", "--workers", "2")
    with pytest.raises(CommandError, match="no agent"):
        _cli("recompute", "nobody")
    with pytest.raises(CommandError, match="at least 1"):
        _cli("recompute", "--all", "--workers", "0")
    agent.refresh_from_db()
    assert agent.trust_level == "pending"
