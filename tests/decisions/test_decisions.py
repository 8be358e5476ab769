"""POST /api/v1/decisions: every answer, every deny reason, bad input, audit, counters."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from agents import services as registry
from agents.models import OrganisationPolicy
from audit.models import AuditEntry
from credentials import services as cred
from credentials.client_auth import ClientPrincipal
from credentials.services import token_exchange, token_issue, token_revoke
from credentials.signing import sign_jws
from tests import factories as f
from trust.services import trust_level_set

from .conftest import basic, make_world


def _decisions():
    return AuditEntry.objects.filter(action="decision")


def test_trusted_agent_is_allowed_and_the_decision_is_audited_with_its_chain(client, world):
    world.connection.rate_limit = 5
    world.connection.budget_cap = Decimal("100")
    world.connection.save()
    token = world.token()
    resp = world.decide(client, token=token, cost="2.5")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["decision"] == "allow"
    assert body["reasons"] == []
    assert body["message"].startswith("Allowed")
    assert body["trust"] == {"score": 80, "level": "trusted"}
    assert body["remaining"] == {"rate": 4, "budget": "97.5000"}
    assert body["approval"] is None
    entry = _decisions().get()
    assert entry.pk == body["audit_id"]
    assert entry.actor == world.agent.principal
    assert entry.outcome == "success"
    assert entry.resource == world.resource.slug
    assert entry.credential_id == world.agent_credential.pk
    assert entry.token_jti and entry.token_jti in str(
        AuditEntry.objects.filter(action="token.issue").values_list("token_jti", flat=True)[0]
    )
    assert entry.context["resource_server"] == world.resource.slug
    assert entry.context["requested_action"] == "read"


def test_resource_may_be_named_by_its_audience(client, world):
    resp = world.decide(client, resource=world.resource.audience)
    assert resp.json()["decision"] == "allow"


def _deny(client, world, **body):
    resp = world.decide(client, **body)
    assert resp.status_code == 200, resp.content
    data = resp.json()
    assert data["decision"] == "deny", data
    entry = _decisions().get(pk=data["audit_id"])
    assert entry.outcome == "denied"
    assert entry.context["reasons"] == data["reasons"]
    return data


def test_deny_expired_token(client, world):
    now = int(time.time())
    token = sign_jws(
        {
            "iss": "http://localhost:8000",
            "sub": world.agent.slug,
            "aud": world.resource.audience,
            "client_id": world.agent.slug,
            "scope": f"{world.resource.slug}:read",
            "jti": "expired-jti",
            "iat": now - 600,
            "exp": now - 300,
            "cred": world.agent_credential.pk,
        },
        typ="at+jwt",
    )
    assert _deny(client, world, token=token)["reasons"] == ["token_expired"]


def test_deny_token_for_another_audience(client, world):
    other = f.ResourceFactory()
    f.ConnectionFactory(agent=world.agent, resource=other)  # a token may only name its own
    token = token_issue(
        client=ClientPrincipal(credential=world.agent_credential, method="client_secret_basic"),
        resources=[other.audience],
    ).access_token
    assert _deny(client, world, token=token)["reasons"] == ["token_wrong_audience"]


def test_deny_bad_signature(client, world):
    token = world.token()
    head, payload, sig = token.split(".")
    forged = f"{head}.{payload}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    data = _deny(client, world, token=forged)
    assert data["reasons"] == ["token_bad_signature"]
    assert data["trust"] is None


def test_deny_revoked_token(client, world):
    token = world.token()
    token_revoke(
        client=ClientPrincipal(credential=world.agent_credential, method="client_secret_basic"),
        token=token,
    )
    assert _deny(client, world, token=token)["reasons"] == ["token_revoked"]


def test_suspension_turns_the_very_next_decision_into_deny(client, world):
    token = world.token()
    assert world.decide(client, token=token).json()["decision"] == "allow"
    registry.agent_suspend(agent=world.agent, reason="incident")
    assert _deny(client, world, token=token)["reasons"] == ["agent_inactive"]
    registry.agent_reactivate(agent=world.agent, reason="resolved")
    assert world.decide(client, token=token).json()["decision"] == "allow"


def test_credential_revocation_turns_the_very_next_decision_into_deny(client, world):
    token = world.token()
    assert world.decide(client, token=token).json()["decision"] == "allow"
    cred.credential_revoke(credential=world.agent_credential, reason="leaked")
    assert _deny(client, world, token=token)["reasons"] == ["credential_revoked"]


def test_deny_scope_not_granted(client, world):
    token = world.token()
    grant = world.agent.grants.get(scope__name=f"{world.resource.slug}:read")
    registry.scope_revoke(grant=grant, reason="no longer needed")
    assert _deny(client, world, token=token)["reasons"] == ["scope_not_granted"]


def test_deny_scope_not_in_token(client, world):
    token = world.token(scope=f"{world.resource.slug}:write")
    assert _deny(client, world, token=token)["reasons"] == ["scope_not_in_token"]


def test_deny_no_connection(client, world):
    token = world.token()
    world.connection.delete()
    assert _deny(client, world, token=token)["reasons"] == ["no_connection"]


def test_deny_connection_named_is_not_this_agents(client, world):
    other = f.ConnectionFactory()
    assert _deny(client, world, connection=other.pk)["reasons"] == ["no_connection"]
    assert world.decide(client, connection=world.connection.pk).json()["decision"] == "allow"


def test_deny_connection_expired(client, world):
    world.connection.expires_at = timezone.now() - dt.timedelta(seconds=1)
    world.connection.save()
    assert _deny(client, world)["reasons"] == ["connection_expired"]


def test_deny_action_not_allowed(client, world):
    world.connection.allowed_actions = ["write"]
    world.connection.save()
    assert _deny(client, world)["reasons"] == ["action_not_allowed"]


def test_deny_rate_limited_and_denials_count_nothing(client, world):
    world.connection.rate_limit = 2
    world.connection.save()
    token = world.token()
    assert [world.decide(client, token=token).json()["decision"] for _ in range(2)] == [
        "allow",
        "allow",
    ]
    data = _deny(client, world, token=token)
    assert data["reasons"] == ["rate_limited"]
    assert data["remaining"]["rate"] == 0


def test_deny_budget_exceeded_then_a_cheaper_request_fits(client, world):
    world.connection.budget_cap = Decimal("10")
    world.connection.save()
    token = world.token()
    assert world.decide(client, token=token, cost=8).json()["remaining"]["budget"] == "2.0000"
    data = _deny(client, world, token=token, cost="2.0001")
    assert data["reasons"] == ["budget_exceeded"]
    assert data["remaining"]["budget"] == "2.0000"
    assert world.decide(client, token=token, cost=2).json()["decision"] == "allow"


def test_a_request_denied_for_another_reason_spends_no_rate_or_budget(client, world):
    world.connection.rate_limit = 1
    world.connection.budget_cap = Decimal("5")
    world.connection.save()
    token = world.token(scope=f"{world.resource.slug}:write")
    for _ in range(3):
        assert _deny(client, world, token=token, cost=5)["reasons"] == ["scope_not_in_token"]
    data = world.decide(client, cost=5).json()
    assert data["decision"] == "allow", data
    assert data["remaining"] == {"rate": 0, "budget": "0.0000"}


def test_untrusted_agent_is_quarantined(client, db, backend):
    world = make_world(level="untrusted")
    data = _deny(client, world)
    assert data["reasons"] == ["trust_quarantined"]
    assert data["trust"] == {"score": 0, "level": "untrusted"}


def test_quarantine_holds_even_under_an_untrusted_floor(client, db, backend):
    world = make_world(level="untrusted", trust_floor="untrusted")
    OrganisationPolicy.objects.update_or_create(pk=1, defaults={"org_trust_floor": "untrusted"})
    assert _deny(client, world)["reasons"] == ["trust_quarantined"]


def test_pending_agent_at_a_pending_floor_acts_alone(client, db, backend):
    world = make_world(level="pending", trust_floor="pending")
    assert world.decide(client).json()["decision"] == "allow"


def test_trust_rises_and_the_next_decision_sees_it(client, db, backend):
    world = make_world(level="untrusted")
    token = world.token()
    assert _deny(client, world, token=token)["reasons"] == ["trust_quarantined"]
    trust_level_set(agent=world.agent, score=90, level="trusted", reason="reviewed", by="system")
    assert world.decide(client, token=token).json()["decision"] == "allow"


def test_delegated_token_is_audited_with_the_chain(client, db, backend):
    world = make_world()
    actor = f.AgentFactory()
    trust_level_set(agent=actor, score=95, level="trusted", reason="test", by="system")
    for name in (f"{world.resource.slug}:read",):
        f.ScopeGrantFactory(agent=actor, scope=f.ScopeFactory(name=name))
    f.ConnectionFactory(agent=actor, resource=world.resource)
    actor_cred = cred.credential_issue(agent=actor, by="system").credential
    actor_client = ClientPrincipal(credential=actor_cred, method="client_secret_basic")
    actor_token = token_issue(client=actor_client, resources=[world.resource.audience]).access_token
    delegated = token_exchange(
        client=actor_client,
        subject_token=world.token(),
        subject_token_type="urn:ietf:params:oauth:token-type:access_token",
        actor_token=actor_token,
        actor_token_type="urn:ietf:params:oauth:token-type:access_token",
        resources=[world.resource.audience],
    ).access_token
    data = world.decide(client, token=delegated).json()
    assert data["decision"] == "allow", data
    entry = _decisions().get(pk=data["audit_id"])
    assert entry.actor == actor.principal
    assert entry.on_behalf_of == [world.agent.principal]
    # the lowest trust in the chain counts: an UNTRUSTED actor stays quarantined
    trust_level_set(agent=actor, score=10, level="untrusted", reason="test", by="system")
    data = _deny(client, world, token=delegated)
    assert data["reasons"] == ["trust_quarantined"]
    assert data["trust"] == {"score": 10, "level": "untrusted"}
    trust_level_set(agent=actor, score=95, level="trusted", reason="test", by="system")
    assert world.decide(client, token=delegated).json()["trust"] == {
        "score": 80,
        "level": "trusted",
    }
    registry.agent_suspend(agent=actor, reason="incident")
    assert _deny(client, world, token=delegated)["reasons"] == ["actor_inactive"]


def test_task_token_dies_with_its_run(client, db, backend):
    world = make_world()
    run = f.WorkflowRunFactory(participants=[world.agent])
    me = ClientPrincipal(credential=world.agent_credential, method="client_secret_basic")
    task = token_exchange(
        client=me,
        subject_token=world.token(),
        subject_token_type="urn:ietf:params:oauth:token-type:access_token",
        workflow_run=run.run_id,
        resources=[world.resource.audience],
    ).access_token
    data = world.decide(client, token=task).json()
    assert data["decision"] == "allow", data
    assert _decisions().get(pk=data["audit_id"]).workflow_run == run.run_id
    registry.run_complete(run=run)
    assert _deny(client, world, token=task)["reasons"] == ["run_closed"]


# --- log-only (dry run) --------------------------------------------------------------------


def test_log_only_rate_limit_is_reported_not_enforced(client, world):
    world.connection.rate_limit = 1
    world.connection.log_only_rules = ["rate_limit"]
    world.connection.save()
    token = world.token()
    world.decide(client, token=token)
    data = world.decide(client, token=token).json()
    assert data["decision"] == "allow"
    assert data["log_only"] == [{"rule": "rate_limit", "would": "deny", "reason": "rate_limited"}]
    assert "rate_limit would deny" in data["message"]
    entry = _decisions().get(pk=data["audit_id"])
    assert entry.context["log_only"] == data["log_only"]


def test_log_only_trust_floor_from_the_organisation(client, db, backend):
    world = make_world(level="untrusted")
    OrganisationPolicy.objects.update_or_create(
        pk=1, defaults={"log_only_rules": ["org_trust_floor"]}
    )
    world.connection.log_only_rules = ["trust_floor", "budget"]
    world.connection.budget_cap = Decimal(1)
    world.connection.save()
    data = world.decide(client, cost=2).json()
    assert data["decision"] == "allow", data
    assert {(lo["rule"], lo["would"]) for lo in data["log_only"]} == {
        ("trust_floor", "deny"),
        ("org_trust_floor", "deny"),
        ("budget", "deny"),
    }


def test_an_enforced_floor_still_bites_beside_a_log_only_one(client, db, backend):
    world = make_world(level="untrusted", log_only_rules=["trust_floor"])
    data = _deny(client, world)
    assert data["reasons"] == ["trust_quarantined"]
    assert data["log_only"] == [
        {"rule": "trust_floor", "would": "deny", "reason": "trust_quarantined"}
    ]


# --- bad input: 400, nothing counted, nothing audited ---------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"action": "launch"}, "invalid_request"),  # unknown action
        ({"action": "Read!"}, "invalid_request"),
        ({"action": None}, "invalid_request"),
        ({"token": "not-a-jwt"}, "invalid_token"),
        ({"token": "a.b.c"}, "invalid_token"),
        ({"token": ""}, "invalid_request"),
        ({"cost": -1}, "invalid_request"),
        ({"cost": "-0.0001"}, "invalid_request"),
        ({"cost": "NaN"}, "invalid_request"),
        ({"cost": "1e400"}, "invalid_request"),
        ({"cost": "0.00001"}, "invalid_request"),
        ({"cost": True}, "invalid_request"),
        ({"cost": [1]}, "invalid_request"),
        ({"resource": "no-such-resource"}, "invalid_request"),
        ({"resource": ""}, "invalid_request"),
        ({"connection": 999999}, "invalid_request"),
        ({"connection": "x"}, "invalid_request"),
    ],
)
def test_bad_input_is_a_clear_400_and_changes_nothing(client, world, body, error):
    world.connection.rate_limit = 1
    world.connection.budget_cap = Decimal(1)
    world.connection.save()
    token = world.token()
    before = AuditEntry.objects.count()
    body.setdefault("token", token)
    resp = world.decide(client, **body)
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"] == error
    assert resp.json()["message"]
    assert AuditEntry.objects.count() == before
    # nothing was counted: the whole rate and budget are still there
    data = world.decide(client, token=token, cost=1).json()
    assert data["decision"] == "allow"
    assert data["remaining"] == {"rate": 0, "budget": "0.0000"}


def test_invalid_json_and_non_object_bodies(client, world):
    for raw in (b"{", b"[1]", b"\xff"):
        resp = client.post(
            "/api/v1/decisions",
            raw,
            content_type="application/json",
            HTTP_AUTHORIZATION=world.rs_auth,
        )
        assert resp.status_code == 400
        assert resp.json()["error"] == "invalid_request"
    assert not _decisions().exists()


def test_another_resource_servers_resource_is_403(client, world):
    other = make_world()
    resp = world.decide(client, resource=other.resource.slug, token=other.token())
    assert resp.status_code == 403
    assert not _decisions().exists()


def test_the_caller_must_be_an_authenticated_resource_server(client, world):
    body = {"token": world.token(), "action": "read", "resource": world.resource.slug}
    resp = client.post("/api/v1/decisions", body, content_type="application/json")
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"
    resp = client.post(
        "/api/v1/decisions",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(world.resource.slug, "gva_wrong"),
    )
    assert resp.status_code == 401
    # an agent's own credential is not a resource server's
    agent_secret = cred.credential_issue(agent=world.agent, by="system").secret
    resp = client.post(
        "/api/v1/decisions",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(world.agent.slug, agent_secret),
    )
    assert resp.status_code == 401
    assert client.get("/api/v1/decisions").status_code == 405
    assert not _decisions().exists()


def test_relaxed_audit_commit_still_audits_every_decision(client, world, settings):
    settings.DECISIONS_DURABLE_AUDIT = False
    data = world.decide(client).json()
    assert data["decision"] == "allow"
    assert _decisions().filter(pk=data["audit_id"]).exists()
    world.connection.rate_limit = 1
    world.connection.save()
    assert world.decide(client).json()["decision"] == "allow"
    assert _deny(client, world)["reasons"] == ["rate_limited"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("counters", ["redis", "database"])
def test_an_unrecordable_decision_fails_closed_and_is_not_charged(
    client, settings, redis_url, counters
):
    """A real database failure on the audit INSERT (a trigger), not a mock."""
    from django.db import connection

    settings.RATE_LIMIT_BACKEND = counters
    settings.REDIS_URL = redis_url
    settings.RATE_LIMIT_PREFIX = f"test-dec-{__import__('uuid').uuid4().hex}"
    world = make_world(rate_limit=1, budget_cap=5)
    token = world.token()
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_decisions() RETURNS trigger AS $$ BEGIN "
            "IF NEW.action = 'decision' THEN RAISE EXCEPTION 'audit disk full'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER test_refuse BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_decisions()"
        )
    try:
        resp = world.decide(client, token=token, cost=5)
        assert resp.status_code == 503
        assert resp.json()["error"] == "temporarily_unavailable"
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER test_refuse ON {table}")
            cursor.execute("DROP FUNCTION test_refuse_decisions()")
    # the failed decision was refunded: the whole rate and budget are still there
    data = world.decide(client, token=token, cost=5).json()
    assert data["decision"] == "allow", data
    assert data["remaining"] == {"rate": 0, "budget": "0.0000"}
