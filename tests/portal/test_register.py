"""Registering an agent and recording a new version from the portal."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from agents.models import Agent, AgentVersion
from audit.models import AuditEntry

from .conftest import client_for

pytestmark = pytest.mark.django_db

DIGEST = "sha256:" + "ab" * 32


def _register(client, **overrides):
    data = {
        "owner_team": "",
        "display_name": "Invoice reconciler",
        "slug": "invoice-reconciler",
        "purpose": "Matches invoices against the ledger.",
        "version_label": "1.0.0",
        "config_digest": DIGEST,
    }
    data.update(overrides)
    return client.post("/portal/new-agent/", data)


def test_register_an_agent_with_its_first_version(org):
    client = client_for(org["alice"])
    form = client.get("/portal/new-agent/")
    assert form.status_code == 200
    assert list(form.context["form"].fields["owner_team"].queryset) == [org["red"]]
    response = _register(
        client,
        owner_team=org["red"].pk,
        requested_scopes=[org["read"].pk, org["pay"].pk],
        config_digest="AB" * 32,  # no prefix, upper case: normalised
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/agents/invoice-reconciler/"
    agent = Agent.objects.get(slug="invoice-reconciler")
    assert (agent.owner_team, agent.status, agent.created_by) == (
        org["red"],
        "active",
        org["alice"],
    )
    version = agent.current_version
    assert (version.label, version.config_digest, version.reviewed) == ("1.0.0", DIGEST, False)
    assert {s.name for s in version.requested_scopes.all()} == {"ledger:read", "payments:initiate"}
    assert not agent.grants.exists()  # asking grants nothing
    actions = set(
        AuditEntry.objects.filter(resource="agent:invoice-reconciler").values_list(
            "actor", "action"
        )
    )
    assert actions == {("user:alice", "agent.register"), ("user:alice", "agent.version.add")}
    page = client.get(response["Location"])
    assert b"Agent invoice-reconciler registered." in page.content


def test_the_digest_is_computed_from_the_file_which_is_not_kept(org):
    config = b"model: small\ntools: [ledger]\n"
    response = client_for(org["alice"]).post(
        "/portal/new-agent/",
        {
            "owner_team": org["red"].pk,
            "display_name": "Filed",
            "slug": "filed-bot",
            "purpose": "p",
            "version_label": "1",
            "config_file": SimpleUploadedFile("agent.yaml", config),
        },
    )
    assert response.status_code == 302
    version = Agent.objects.get(slug="filed-bot").current_version
    assert version.config_digest == "sha256:" + hashlib.sha256(config).hexdigest()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"slug": "Not A Slug"}, "slug"),
        ({"slug": "has:colon"}, "slug"),
        ({"slug": "red-bot"}, "slug"),  # taken: the service's validation, on the field
        ({"display_name": ""}, "display_name"),
        ({"purpose": ""}, "purpose"),
        ({"version_label": ""}, "version_label"),
        ({"config_digest": ""}, "config_digest"),
        ({"config_digest": "sha256:xyz"}, "config_digest"),
        ({"owner_team": "blue"}, "owner_team"),  # another team's: not a choice
        ({"requested_scopes": ["999999"]}, "requested_scopes"),
    ],
)
def test_bad_input_is_a_field_message_and_changes_nothing(org, overrides, field):
    overrides = {"owner_team": org["red"].pk, **overrides}
    if overrides["owner_team"] == "blue":
        overrides["owner_team"] = org["blue"].pk
    before = (Agent.objects.count(), AuditEntry.objects.count())
    response = _register(client_for(org["alice"]), **overrides)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert b'class="errorlist' in response.content
    assert (Agent.objects.count(), AuditEntry.objects.count()) == before


def test_digest_and_file_must_agree(org):
    response = client_for(org["alice"]).post(
        "/portal/new-agent/",
        {
            "owner_team": org["red"].pk,
            "display_name": "X",
            "slug": "x-bot",
            "purpose": "p",
            "version_label": "1",
            "config_digest": DIGEST,
            "config_file": SimpleUploadedFile("a.yaml", b"other"),
        },
    )
    assert response.status_code == 400
    assert "config_file" in response.context["form"].errors
    assert not Agent.objects.filter(slug="x-bot").exists()


def test_someone_without_a_team_to_manage_may_not_register(org):
    client = client_for(org["rita"])
    assert client.get("/portal/new-agent/").status_code == 403
    assert _register(client, owner_team=org["red"].pk).status_code == 403
    assert not Agent.objects.filter(slug="invoice-reconciler").exists()
    assert b"Register an agent" not in client.get("/portal/agents/").content


def test_a_new_version_becomes_current_and_awaits_review(org):
    client = client_for(org["alice"])
    form = client.get("/portal/agents/red-bot/versions/new/")
    assert form.status_code == 200
    response = client.post(
        "/portal/agents/red-bot/versions/new/",
        {"version_label": "2.0.0", "config_digest": DIGEST, "requested_scopes": [org["pay"].pk]},
    )
    assert response.status_code == 302
    agent = Agent.objects.get(slug="red-bot")
    assert agent.current_version.label == "2.0.0"
    assert not agent.current_version.reviewed
    assert AuditEntry.objects.get(action="agent.version.add").actor == "user:alice"
    page = client.get("/portal/agents/red-bot/").content.decode()
    assert 'data-version="2.0.0"' in page
    assert "awaiting review" in page


def test_a_version_label_is_used_once(org):
    client = client_for(org["alice"])
    data = {"version_label": "2.0.0", "config_digest": DIGEST}
    assert client.post("/portal/agents/red-bot/versions/new/", data).status_code == 302
    again = client.post("/portal/agents/red-bot/versions/new/", data)
    assert again.status_code == 400
    assert "version_label" in again.context["form"].errors
    assert AgentVersion.objects.filter(agent=org["ours"]).count() == 1


def test_a_reviewer_cannot_add_a_version(org):
    client = client_for(org["rita"])
    assert client.get("/portal/agents/red-bot/versions/new/").status_code == 403
    data = {"version_label": "9", "config_digest": DIGEST}
    assert client.post("/portal/agents/red-bot/versions/new/", data).status_code == 403
    assert not AgentVersion.objects.exists()
