"""The trust service: the only writer of an agent's score and level, audited, validated."""

from __future__ import annotations

import pytest

from agents.models import Agent
from audit.models import AuditEntry
from tests import factories as f
from trust.errors import TrustError
from trust.services import trust_level_set

pytestmark = pytest.mark.django_db


def test_sets_score_and_level_and_audits_before_after():
    agent = f.AgentFactory()
    admin = f.platform_admin(username="root")
    trust_level_set(agent=agent, score=82, level="trusted", reason="attested by SOC", by=admin)
    agent.refresh_from_db()
    assert (agent.trust_score, agent.trust_level) == (82, "trusted")
    assert agent.trust_updated_at is not None
    entry = AuditEntry.objects.get(action="trust.set")
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
    agent = f.AgentFactory()
    with pytest.raises(TrustError):
        trust_level_set(agent=agent, score=score, level=level, reason=reason, by="system")
    agent.refresh_from_db()
    assert (agent.trust_score, agent.trust_level) == (0, "untrusted")
    assert not AuditEntry.objects.filter(action="trust.set").exists()


def test_admin_change_goes_through_service_and_only_platform_admins_may(client):
    agent = f.AgentFactory()
    url = f"/admin/trust/agenttrust/{agent.pk}/change/"
    reviewer = f.security_reviewer(username="rev")
    client.force_login(reviewer)
    assert client.get(url).status_code == 200  # reviewers may look
    resp = client.post(url, {"trust_score": 90, "trust_level": "trusted", "reason": "x"})
    assert resp.status_code == 403
    admin = f.platform_admin(username="boss")
    client.force_login(admin)
    resp = client.post(url, {"trust_score": 90, "trust_level": "trusted", "reason": ""})
    assert resp.status_code == 200  # the form asks for a reason again
    resp = client.post(url, {"trust_score": 90, "trust_level": "trusted", "reason": "reviewed"})
    assert resp.status_code == 302
    agent.refresh_from_db()
    assert (agent.trust_score, agent.trust_level) == (90, "trusted")
    assert AuditEntry.objects.get(action="trust.set").actor == "user:boss"
    assert Agent.objects.get(pk=agent.pk).status == "active"


def test_team_member_cannot_see_trust_admin(client):
    agent = f.AgentFactory()
    client.force_login(f.team_member(agent.owner_team))
    assert client.get(f"/admin/trust/agenttrust/{agent.pk}/change/").status_code in (302, 403)


def _cli(*args):
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command("trust", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_cli_sets_and_shows_and_only_platform_admins_may():
    from django.core.management import CommandError

    agent = f.AgentFactory(slug="cli-agent")
    f.platform_admin(username="root")
    f.security_reviewer(username="rev")
    data = _cli("set", "cli-agent", "--score=70", "--level=pending", "--reason=r", "--by=root")
    assert data["trust_score"] == 70 and data["trust_level"] == "pending"
    assert AuditEntry.objects.get(action="trust.set").actor == "user:root"
    with pytest.raises(CommandError, match="not a platform admin"):
        _cli("set", "cli-agent", "--score=90", "--level=trusted", "--reason=r", "--by=rev")
    with pytest.raises(CommandError, match="0 to 100"):
        _cli("set", "cli-agent", "--score=101", "--level=trusted", "--reason=r")
    assert _cli("show", "cli-agent")["trust_score"] == 70
    agent.refresh_from_db()
    assert agent.trust_level == "pending"
