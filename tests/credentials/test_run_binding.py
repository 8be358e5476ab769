"""Issue 13, item 9: binding tokens to runs and audiences only where the agent belongs.

From outside, as the attacks were made: a live server, raw HTTP (httpx) for the OAuth
endpoints, the management API through Django's test client.

* A token was bound by exchange to another team's workflow run, and the audit entry filed
  under that run. Runs now name their participating agents; only those may bind.
* A token could be issued for any registered audience with ``resource=``, even one the agent
  has no connection to: now ``invalid_target`` (RFC 8707).
* Who started a run was taken from the request body: now it is always the caller.
"""

from __future__ import annotations

import httpx
import jwt
import pytest
from rest_framework.test import APIClient

from agents import services as agent_services
from agents.errors import RegistryError
from agents.models import WorkflowRun
from audit.models import AuditEntry
from tests import factories as f

from .conftest import agent_with_secret, resource_with_secret

pytestmark = pytest.mark.django_db(transaction=True)

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"
ISSUING = ("token.issue", "token.exchange", "token.delegate")


@pytest.fixture
def teams(live_issuer):
    """Team A runs a workflow with its agent; team B has an agent of its own."""
    a = agent_with_secret(scopes=("ledger:read",))
    b = agent_with_secret(scopes=("ledger:read",))
    ledger = resource_with_secret(audience="https://ledger.example.test")
    f.ConnectionFactory(agent=a.agent, resource=ledger.resource)
    f.ConnectionFactory(agent=b.agent, resource=ledger.resource)
    run = agent_services.run_start(
        workflow=f.WorkflowFactory(owner_team=a.agent.owner_team),
        run_id="close-a",
        participants=[a.agent],
        by="system",
    )
    return {"base": live_issuer, "a": a, "b": b, "run": run, "ledger": ledger}


def token(base: str, client, **data) -> httpx.Response:
    return httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", **data},
        auth=(client.client_id, client.secret),
    )


def exchange(base: str, client, subject: str, **data) -> httpx.Response:
    return httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": EXCHANGE, "subject_token": subject, "subject_token_type": AT, **data},
        auth=(client.client_id, client.secret),
    )


def issued() -> int:
    return AuditEntry.objects.filter(action__in=ISSUING).count()


def filed_under(run_id: str) -> int:
    return AuditEntry.objects.filter(workflow_run=run_id, action__in=ISSUING).count()


def test_another_teams_agent_cannot_bind_its_token_to_the_run(teams):
    base, b, run = teams["base"], teams["b"], teams["run"]
    subject = token(base, b).json()["access_token"]
    before = issued()
    response = exchange(base, b, subject, workflow_run=run.run_id)
    assert response.status_code == 400, response.text
    # The same answer as a run that does not exist: no oracle of other teams' runs.
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "unknown workflow_run",
    }
    assert response.headers["cache-control"] == "no-store"
    assert issued() == before
    assert filed_under(run.run_id) == 0

    # The participant can.
    a = teams["a"]
    response = exchange(base, a, token(base, a).json()["access_token"], workflow_run=run.run_id)
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["workflow_run"] == run.run_id
    assert filed_under(run.run_id) == 1


def test_a_delegate_outside_the_run_cannot_act_inside_it(teams):
    base, a, b, run = teams["base"], teams["a"], teams["b"], teams["run"]
    task = exchange(base, a, token(base, a).json()["access_token"], workflow_run=run.run_id)
    assert task.status_code == 200, task.text
    before = issued()
    # B acts for A with A's run-bound task token: B is no participant of the run.
    response = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": EXCHANGE,
            "subject_token": task.json()["access_token"],
            "subject_token_type": AT,
            "actor_token": token(base, b).json()["access_token"],
            "actor_token_type": AT,
        },
        auth=(b.client_id, b.secret),
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert issued() == before + 1  # b's own actor token only
    assert filed_under(run.run_id) == 1  # a's task token only


def test_a_participant_cannot_pull_a_non_participant_subject_into_the_run(teams):
    """B's run-bound actor token would carry the run onto a token about A: A must take part."""
    base, a = teams["base"], teams["a"]
    c = agent_with_secret(scopes=("ledger:read",))
    run = agent_services.run_start(
        workflow=f.WorkflowFactory(owner_team=c.agent.owner_team),
        run_id="close-c",
        participants=[c.agent],
        by="system",
    )
    c_task = exchange(base, c, token(base, c).json()["access_token"], workflow_run=run.run_id)
    assert c_task.status_code == 200, c_task.text
    response = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": EXCHANGE,
            "subject_token": token(base, a).json()["access_token"],
            "subject_token_type": AT,
            "actor_token": c_task.json()["access_token"],
            "actor_token_type": AT,
        },
        auth=(c.client_id, c.secret),
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"
    assert "not a participant" in response.json()["error_description"]


def test_resource_outside_the_agents_connections_is_invalid_target(teams):
    base, a = teams["base"], teams["a"]
    foreign = f.ResourceFactory(audience="https://payroll.example.test")  # registered, no link
    before = issued()
    for resource in (foreign.audience, "https://never-registered.example.test"):
        response = token(base, a, resource=resource)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_target"
        assert response.headers["cache-control"] == "no-store"
    assert issued() == before
    # The connected one (and the issuer itself) work.
    ok = token(base, a, resource=teams["ledger"].resource.audience)
    assert ok.status_code == 200, ok.text
    claims = jwt.decode(ok.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://ledger.example.test"
    assert token(base, a, resource=base).status_code == 200


def test_an_exchange_narrows_the_audience_and_never_widens_it(teams):
    base, a, run = teams["base"], teams["a"], teams["run"]
    foreign = f.ResourceFactory(audience="https://payroll.example.test")
    narrow = token(base, a, resource=teams["ledger"].resource.audience).json()["access_token"]
    response = exchange(base, a, narrow, workflow_run=run.run_id, resource=foreign.audience)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_target"
    wide = token(base, a).json()["access_token"]
    response = exchange(
        base, a, wide, workflow_run=run.run_id, resource=teams["ledger"].resource.audience
    )
    assert response.status_code == 200, response.text


def test_the_person_who_starts_a_run_cannot_be_forged(teams, client):
    a = teams["a"]
    team = a.agent.owner_team
    alice = f.team_member(team, username="alice-runs")
    workflow = f.WorkflowFactory(owner_team=team, slug="close-forged")
    api = APIClient()
    api.force_login(alice)
    response = api.post(
        "/api/v1/runs/",
        {
            "workflow": workflow.slug,
            "run_id": "forged-1",
            "triggered_by": "user:ceo",
            "participants": [a.agent.slug],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["triggered_by"] == "user:alice-runs"
    assert response.json()["participants"] == [a.agent.slug]
    run = WorkflowRun.objects.get(run_id="forged-1")
    assert run.triggered_by == "user:alice-runs"
    entry = AuditEntry.objects.get(action="run.start", workflow_run="forged-1")
    assert entry.changes["triggered_by"] == "user:alice-runs"

    # The admin's add form has no such field either, and sets it from the session.
    client.force_login(alice)
    response = client.post(
        "/admin/agents/workflowrun/add/",
        {
            "workflow": workflow.pk,
            "run_id": "forged-2",
            "triggered_by": "user:ceo",
            "participants": [a.agent.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert WorkflowRun.objects.get(run_id="forged-2").triggered_by == "user:alice-runs"


def test_a_run_names_only_agents_its_starter_manages(teams):
    a, b = teams["a"], teams["b"]
    alice = f.team_member(a.agent.owner_team, username="alice-names")
    workflow = f.WorkflowFactory(owner_team=a.agent.owner_team, slug="close-names")
    api = APIClient()
    api.force_login(alice)
    response = api.post(
        "/api/v1/runs/",
        {"workflow": workflow.slug, "run_id": "names-1", "participants": [b.agent.slug]},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "participants" in response.json()
    assert not WorkflowRun.objects.filter(run_id="names-1").exists()
    # The service refuses it too, whoever calls it (admin, CLI, portal).
    with pytest.raises(RegistryError, match="you may not name agent"):
        agent_services.run_start(
            workflow=workflow, run_id="names-2", participants=[b.agent], by=alice
        )
    assert not WorkflowRun.objects.filter(run_id="names-2").exists()
