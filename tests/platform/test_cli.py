"""``manage.py agents``: JSON out, audited actor, clear errors that change nothing."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from agents.models import Agent
from audit.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("agents", *args, stdout=out)
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


def test_create_returns_json_and_audits_the_acting_user():
    team = f.TeamFactory(slug="finance-ops")
    f.team_member(team, username="alice")
    data = run_json(
        "create",
        "--team=finance-ops",
        "--slug=invoice-reconciler",
        "--purpose=Reconciles invoices against the ledger.",
        "--version-label=1.0.0",
        f"--config-digest={f.digest('cfg')}",
        "--by=alice",
    )
    assert data["slug"] == data["client_id"] == "invoice-reconciler"
    assert data["status"] == "active"
    assert data["trust_level"] == "untrusted"
    assert data["current_version"] == "1.0.0"
    assert data["owner_team"] == "finance-ops"
    entry = AuditEntry.objects.get(action="agent.register")
    assert entry.actor == "user:alice"
    assert entry.resource == "agent:invoice-reconciler"


def test_without_by_the_change_is_audited_as_system():
    agent = f.AgentFactory()
    run("suspend", agent.slug, "--reason=incident 42")
    entry = AuditEntry.objects.get(action="agent.suspend")
    assert entry.actor == "system"
    assert entry.reason == "incident 42"


def test_full_lifecycle_through_the_cli():
    team = f.TeamFactory()
    f.team_member(team, username="bob")
    agent = f.AgentFactory(owner_team=team)
    assert run_json("suspend", agent.slug, "--by=bob")["status"] == "suspended"
    assert run_json("reactivate", agent.slug, "--by=bob")["status"] == "active"
    assert run_json("decommission", agent.slug, "--by=bob")["status"] == "decommissioned"
    actions = list(
        AuditEntry.objects.filter(target_type="agent").order_by("id").values_list("action", "actor")
    )
    assert actions == [
        ("agent.suspend", "user:bob"),
        ("agent.reactivate", "user:bob"),
        ("agent.decommission", "user:bob"),
    ]


def test_list_filters_and_show():
    a = f.AgentFactory(slug="alpha", owner_team=f.TeamFactory(slug="red"))
    f.AgentFactory(slug="beta", owner_team=f.TeamFactory(slug="blue"))
    assert [row["slug"] for row in run_json("list")] == ["alpha", "beta"]
    assert [row["slug"] for row in run_json("list", "--team=red")] == ["alpha"]
    assert run_json("list", "--status=suspended") == []
    assert run_json("show", "alpha")["display_name"] == a.display_name
    assert "alpha" in run("list")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--team=nope", "--slug=x", "--purpose=p"], "no team"),
        (["create", "--team=t1", "--slug=Bad:Slug", "--purpose=p"], "slug"),
        (["create", "--team=t1", "--slug=dup", "--purpose=p"], "already exists"),
        (["create", "--team=t1", "--slug=ok", "--purpose=p", "--by=ghost"], "no active user"),
        (["create", "--team=t1", "--slug=ok", "--purpose=p", "--by=outsider"], "may not manage"),
        (["create", "--team=t1", "--slug=ok", "--purpose=p", "--version-label=1"], "config-digest"),
        (
            [
                "create",
                "--team=t1",
                "--slug=ok",
                "--purpose=p",
                "--version-label=1",
                "--config-digest=md5:x",
            ],
            "config_digest",
        ),
        (["show", "missing"], "no agent"),
        (["suspend", "dup", "--by=outsider"], "may not suspend"),
        (["decommission", "dup", "--by=reviewer"], "may not decommission"),
        (["reactivate", "dup"], "cannot reactivate"),
        (["list", "--team=nope"], "no team"),
    ],
)
def test_errors_are_clear_and_change_nothing(args, message):
    team = f.TeamFactory(slug="t1")
    f.AgentFactory(slug="dup", owner_team=team)
    f.team_member(f.TeamFactory(slug="other"), username="outsider")
    f.security_reviewer(username="reviewer")
    before_agents = list(Agent.objects.values_list("slug", "status", "current_version"))
    before_audit = AuditEntry.objects.count()
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert list(Agent.objects.values_list("slug", "status", "current_version")) == before_agents
    assert AuditEntry.objects.count() == before_audit


def test_a_platform_admin_may_act_for_any_team():
    agent = f.AgentFactory()
    f.platform_admin(username="root-admin")
    run("suspend", agent.slug, "--by=root-admin")
    assert AuditEntry.objects.get(action="agent.suspend").actor == "user:root-admin"


def test_a_reviewer_may_suspend_but_not_reactivate():
    agent = f.AgentFactory()
    f.security_reviewer(username="rita")
    assert run_json("suspend", agent.slug, "--by=rita")["status"] == "suspended"
    with pytest.raises(CommandError, match="may not reactivate"):
        run("reactivate", agent.slug, "--by=rita")


def _lift_quarantine(client, slug: str, basic: str) -> None:
    """A registered agent starts UNTRUSTED, and the token endpoint refuses a quarantined agent
    (RFC 6749 unauthorized_client); a level of PENDING (the engine's, or a pin) lets it in."""
    from trust.services import trust_level_set

    refused = client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"
    assert "quarantined" in refused.json()["error_description"]
    agent = Agent.objects.get(slug=slug)
    trust_level_set(agent=agent, score=50, level="pending", reason="trying it", by="system")


def test_create_with_secret_returns_a_working_one_time_secret(client):
    import base64

    from credentials.models import Credential

    team = f.TeamFactory(slug="finance-ops")
    f.team_member(team, username="alice")
    data = run_json(
        "create",
        "--team=finance-ops",
        "--slug=invoice-bot",
        "--purpose=Reconciles.",
        "--with-secret",
        "--by=alice",
    )
    cred = data["credential"]
    assert cred["client_id"] == "invoice-bot"
    secret = cred["client_secret"]
    assert len(secret) > 43  # at least 256 bits plus prefix, id and checksum
    # The secret is real: the token endpoint accepts it (client_secret_basic).
    basic = base64.b64encode(f"invoice-bot:{secret}".encode()).decode()
    _lift_quarantine(client, "invoice-bot", basic)
    response = client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"].lower() == "bearer"
    # ...and it is stored nowhere in clear, nor written to the audit log.
    row = Credential.objects.get(pk=cred["id"])
    assert secret not in str(Credential.objects.filter(pk=row.pk).values().first())
    assert not any(secret in str(e.changes) + e.reason for e in AuditEntry.objects.all())
    assert AuditEntry.objects.get(action="credential.issue").actor == "user:alice"


def test_with_secret_on_a_failed_create_issues_nothing():
    from credentials.models import Credential

    f.TeamFactory(slug="t1")
    with pytest.raises(CommandError):
        run("create", "--team=t1", "--slug=Bad:Slug", "--purpose=p", "--with-secret")
    assert Credential.objects.count() == 0


def test_create_with_scope_grants_it_and_the_first_token_carries_it(client):
    """The README's "Try it": a scope on the command line, then a token that carries it."""
    import base64

    team = f.TeamFactory(slug="platform")
    f.team_member(team, username="dan")
    f.ScopeFactory(name="deploy:read")
    data = run_json(
        "create",
        "--team=platform",
        "--slug=my-agent",
        "--purpose=Trying the portal",
        "--scope=deploy:read",
        "--with-secret",
        "--by=dan",
    )
    assert data["scopes"] == ["deploy:read"]
    grant = AuditEntry.objects.get(action="grant.create")
    assert grant.actor == "user:dan" and grant.reason == "Trying the portal"
    basic = base64.b64encode(f"my-agent:{data['credential']['client_secret']}".encode()).decode()
    _lift_quarantine(client, "my-agent", basic)
    response = client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "deploy:read"


def test_create_with_an_unknown_scope_creates_nothing():
    f.TeamFactory(slug="t1")
    with pytest.raises(CommandError, match="no scope named 'nope:read'"):
        run("create", "--team=t1", "--slug=a1", "--purpose=p", "--scope=nope:read")
    assert not Agent.objects.filter(slug="a1").exists()
