"""``check_access_token``: every reason, one query, nothing cached past a revocation."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents import services as agent_services
from agents.models import Agent
from credentials import services
from credentials.client_auth import ClientPrincipal
from credentials.models import Credential
from credentials.signing import sign_jws
from credentials.token_check import check_access_token
from tests import factories as f

from .conftest import agent_with_secret

pytestmark = pytest.mark.django_db


def principal(agent_client) -> ClientPrincipal:
    credential = Credential.objects.select_related("agent").get(pk=agent_client.credential_id)
    return ClientPrincipal(credential=credential, method="client_secret_basic")


def issue(agent_client, **kw) -> str:
    return services.token_issue(client=principal(agent_client), **kw).access_token


@pytest.mark.process_caches  # one query with the signing key memoised
def test_an_active_token_reports_everything_in_one_query(issuer):
    a = agent_with_secret(scopes=("ledger:read", "ledger:write"))
    token = issue(a)
    check_access_token(token)  # warm the key memo
    with CaptureQueriesContext(connection) as queries:
        check = check_access_token(token)
    assert len(queries) == 1
    assert check.active and check.reason == ""
    assert check.agent == a.agent
    assert check.scopes == frozenset({"ledger:read", "ledger:write"})
    assert check.credential_id == a.credential_id
    assert check.jti == check.claims["jti"]
    assert check.act_chain == () and check.workflow_run == ""


@pytest.mark.process_caches  # one query with the signing key memoised
def test_a_delegated_task_token_is_still_one_query(issuer):
    a = agent_with_secret()
    b = agent_with_secret()
    run = agent_services.run_start(
        workflow=f.WorkflowFactory(),
        run_id="r-1",
        triggered_by="user:alice",
        participants=[a.agent, b.agent],
    )
    task = services.token_exchange(
        client=principal(a),
        subject_token=issue(a),
        subject_token_type=services.TOKEN_TYPE_ACCESS,
        workflow_run=run.run_id,
    ).access_token
    delegated = services.token_exchange(
        client=principal(b),
        subject_token=task,
        subject_token_type=services.TOKEN_TYPE_ACCESS,
        actor_token=issue(b),
        actor_token_type=services.TOKEN_TYPE_ACCESS,
    ).access_token
    with CaptureQueriesContext(connection) as queries:
        check = check_access_token(delegated)
    assert len(queries) == 1
    assert check.active
    assert check.act_chain == (f"agent:{b.agent.slug}",)
    assert check.workflow_run == "r-1"
    # The actor's suspension ends the delegated token, not the subject's own.
    agent_services.agent_suspend(agent=b.agent)
    assert check_access_token(delegated).reason == "actor_inactive"
    assert check_access_token(task).active


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("suspend", "agent_inactive"),
        ("decommission", "agent_inactive"),
        ("revoke_credential", "credential_revoked"),
        ("revoke_all", "credential_revoked"),
        ("revoke_token", "token_revoked"),
    ],
)
def test_every_ending_event_is_seen_on_the_very_next_check(issuer, event, reason):
    a = agent_with_secret()
    token = issue(a)
    assert check_access_token(token).active  # warm every memo there is
    if event == "suspend":
        agent_services.agent_suspend(agent=a.agent)
    elif event == "decommission":
        agent_services.agent_decommission(agent=a.agent)
    elif event == "revoke_credential":
        services.credential_revoke(credential=Credential.objects.get(pk=a.credential_id))
    elif event == "revoke_all":
        services.credential_revoke_all(agent=a.agent)
    else:
        services.token_revoke(client=principal(a), token=token)
    # A write made through a different connection path (a plain UPDATE, as another process
    # would) is seen too: there is no cache to invalidate.
    assert check_access_token(token).reason == reason


def test_status_changed_by_raw_update_is_seen_immediately(issuer):
    a = agent_with_secret()
    token = issue(a)
    assert check_access_token(token).active
    Agent.objects.filter(pk=a.agent.pk).update(status="suspended")
    assert check_access_token(token).reason == "agent_inactive"


def test_run_deadline_bounds_task_tokens(issuer):
    a = agent_with_secret()
    deadline = timezone.now() + dt.timedelta(seconds=60)
    run = agent_services.run_start(
        workflow=f.WorkflowFactory(),
        run_id="r-dead",
        triggered_by="x",
        deadline=deadline,
        participants=[a.agent],
    )
    issued = services.token_exchange(
        client=principal(a),
        subject_token=issue(a),
        subject_token_type=services.TOKEN_TYPE_ACCESS,
        workflow_run=run.run_id,
    )
    claims = jwt.decode(issued.access_token, options={"verify_signature": False})
    assert claims["exp"] <= int(deadline.timestamp())
    agent_services.run_cancel(run=run)
    assert check_access_token(issued.access_token).reason == "run_closed"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda c: {**c, "exp": c["iat"] - 100}, "expired"),
        (lambda c: {**c, "nbf": c["iat"] + 600}, "not_yet_valid"),
        (lambda c: {**c, "iss": "https://evil.example.test"}, "wrong_issuer"),
        (lambda c: {k: v for k, v in c.items() if k != "jti"}, "malformed"),
        (lambda c: {k: v for k, v in c.items() if k != "cred"}, "malformed"),
        (lambda c: {**c, "sub": "nobody"}, "agent_inactive"),
    ],
)
def test_claims_are_checked(issuer, mutate, reason):
    a = agent_with_secret()
    claims = jwt.decode(issue(a), options={"verify_signature": False})
    assert check_access_token(sign_jws(mutate(claims), typ="at+jwt")).reason == reason


def test_type_audience_and_garbage(issuer):
    a = agent_with_secret()
    token = issue(a)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert check_access_token(sign_jws(claims, typ="JWT")).reason == "malformed"
    assert check_access_token(token, audience="https://other.example.test").reason == (
        "wrong_audience"
    )
    assert check_access_token(token, audience=issuer).active
    for garbage in ["", "x", "a.b.c", "a" * 9000, None, 42]:
        assert check_access_token(garbage).reason == "malformed"  # type: ignore[arg-type]
