"""The decision point's per-process cache: used when warm, dropped by every revocation at once.

Committed transactions (``transaction=True``), as in production: the cache is only used
outside a transaction. Nothing here tells the cache about a change; the database triggers
change the revocation epoch, exactly as they would for another server process, which is also
tested with real separate processes in ``test_multiprocess.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents import services as registry
from agents.models import Agent, ScopeGrant
from credentials import process_caches
from credentials import services as cred
from credentials.client_auth import ClientPrincipal, authenticate
from credentials.services import token_exchange, token_revoke
from governance.decisions import cache
from governance.decisions.errors import DecisionInputError
from governance.decisions.services import decision_make
from tests import factories as f
from trust.services import trust_level_set

from .conftest import make_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.process_caches]


@pytest.fixture(autouse=True)
def _database_counters(settings):
    settings.RATE_LIMIT_BACKEND = "database"
    settings.RATE_LIMIT_PREFIX = f"test-dec-cache-{uuid.uuid4().hex}"


def _decide(world, token):
    result = decision_make(
        caller=world.resource, token=token, action="read", resource=world.resource.slug
    )
    return result.decision, result.reasons


def _warm(world, token) -> int:
    """Two allowed decisions; returns how many queries the warm one needed."""
    assert _decide(world, token) == ("allow", [])
    with CaptureQueriesContext(connection) as warm:
        assert _decide(world, token) == ("allow", [])
    return len(warm.captured_queries)


def test_a_warm_decision_skips_the_token_and_context_queries():
    world = make_world()
    token = world.token()
    process_caches.forget_all()
    with CaptureQueriesContext(connection) as cold:
        assert _decide(world, token) == ("allow", [])
    warm = _warm(world, token)
    assert warm <= len(cold.captured_queries) - 3, (warm, cold.captured_queries)
    assert cache.current_epoch() is not None


def _suspend(world, token):
    registry.agent_suspend(agent=world.agent, reason="incident")


def _revoke_credential(world, token):
    cred.credential_revoke(credential=world.agent_credential, reason="leaked")


def _revoke_token(world, token):
    me = ClientPrincipal(credential=world.agent_credential, method="client_secret_basic")
    assert token_revoke(client=me, token=token)


def _quarantine(world, token):
    # trust_level_set writes with QuerySet.update(): no model signal, the trigger still fires.
    trust_level_set(agent=world.agent, score=10, level="untrusted", reason="test", by="system")


def _revoke_grant(world, token):
    grant = ScopeGrant.objects.get(agent=world.agent, scope__name=f"{world.resource.slug}:read")
    registry.scope_revoke(grant=grant, reason="test")


def _narrow_connection(world, token):
    world.connection.allowed_actions = ["write"]
    world.connection.save()


def _raw_sql_suspension(world, token):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Agent._meta.db_table} SET status = %s WHERE id = %s",
            ["suspended", world.agent.pk],
        )


@pytest.mark.parametrize(
    ("change", "reasons"),
    [
        (_suspend, ["agent_inactive"]),
        (_revoke_credential, ["credential_revoked"]),
        (_revoke_token, ["token_revoked"]),
        (_quarantine, ["trust_quarantined"]),
        (_revoke_grant, ["scope_not_granted"]),
        (_narrow_connection, ["action_not_allowed"]),
        (_raw_sql_suspension, ["agent_inactive"]),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_every_change_is_seen_on_the_very_next_decision(change, reasons):
    world = make_world()
    token = world.token()
    _warm(world, token)
    assert cache.token_checks.get((token, world.resource.audience), cache.current_epoch(), 0)
    change(world, token)
    decision, got = _decide(world, token)
    assert decision == "deny"
    assert got == reasons


def test_an_exchanged_token_dies_with_the_token_it_was_exchanged_from():
    world = make_world()
    parent = world.token()
    me = ClientPrincipal(credential=world.agent_credential, method="client_secret_basic")
    child = token_exchange(
        client=me,
        subject_token=parent,
        subject_token_type="urn:ietf:params:oauth:token-type:access_token",
        workflow_run=f.WorkflowRunFactory(participants=[world.agent]).run_id,
        resources=[world.resource.audience],
    ).access_token
    _warm(world, child)
    _revoke_token(world, parent)
    assert _decide(world, child) == ("deny", ["token_revoked"])


def test_a_task_token_dies_with_its_run():
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
    _warm(world, task)
    registry.run_complete(run=run)
    assert _decide(world, task) == ("deny", ["run_closed"])


def test_time_alone_ends_a_cached_grant(clock):
    world = make_world(granted=("write",))
    f.ScopeGrantFactory(
        agent=world.agent,
        scope=f.ScopeFactory(name=f"{world.resource.slug}:read"),
        expires_at=timezone.now() + dt.timedelta(seconds=60),
    )
    token = world.token()
    _warm(world, token)
    clock.advance(59)
    assert _decide(world, token) == ("allow", [])
    clock.advance(2)  # past the grant's expiry: no row changed, so no new epoch
    assert _decide(world, token) == ("deny", ["scope_not_granted"])


def test_time_alone_ends_a_cached_credential(clock):
    world = make_world()
    token = world.token()
    _warm(world, token)
    key = (token, world.resource.audience)
    entry = cache.token_checks._data[key]
    # The entry ends no later than the token itself, whatever the epoch says.
    assert entry.valid_until <= world_token_exp(token) + 5
    world.agent_credential.expires_at = timezone.now() + dt.timedelta(seconds=60)
    world.agent_credential.save(update_fields=["expires_at"])
    assert _decide(world, token) == ("allow", [])  # re-read: the epoch changed
    until = cache.token_checks._data[key].valid_until
    assert until <= world.agent_credential.expires_at.timestamp()
    clock.advance(until - clock.time() - 1)
    assert _decide(world, token) == ("allow", [])
    clock.advance(2)
    assert _decide(world, token) == ("deny", ["credential_revoked"])


def world_token_exp(token: str) -> float:
    import jwt

    return float(jwt.decode(token, options={"verify_signature": False})["exp"])


def test_nothing_is_cached_inside_a_transaction():
    world = make_world()
    token = world.token()
    _warm(world, token)
    with transaction.atomic():
        assert cache.current_epoch() is None
        registry.agent_suspend(agent=world.agent, reason="incident")
        # PostgreSQL's epoch trigger runs at commit; inside, the cache is not consulted.
        assert _decide(world, token) == ("deny", ["agent_inactive"])


def test_nothing_is_cached_when_a_trigger_is_missing():
    world = make_world()
    token = world.token()
    _warm(world, token)
    table = Agent._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "decisions_epoch_{table}"')
        else:
            name = f"decisions_epoch_{table}_update"
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [name])
            (definition,) = cursor.fetchone()
            cursor.execute(f'DROP TRIGGER "{name}"')
    try:
        assert cache.current_epoch() is None
        Agent.objects.filter(pk=world.agent.pk).update(status="suspended")  # no trigger fired
        assert _decide(world, token) == ("deny", ["agent_inactive"])
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "decisions_epoch_{table}"')
            else:
                cursor.execute(definition)
    assert cache.current_epoch() is not None


@pytest.mark.parametrize("counter_backend", ["database", "redis"])
def test_a_stale_speculative_decision_writes_nothing_and_counts_nothing(counter_backend, request):
    """A warm process decides from its cache before reading the epoch; the audit INSERT is
    guarded by that epoch. When it moved on, nothing is written, the count is undone, and the
    decision is made again from the database: exactly one entry and one count per answer."""
    from django.conf import settings

    from audit.models import AuditEntry

    if counter_backend == "redis":
        settings.REDIS_URL = request.getfixturevalue("redis_url")
        settings.RATE_LIMIT_BACKEND = "redis"
    world = make_world(rate_limit=10, rate_window_seconds=3600)
    token = world.token()
    _warm(world, token)  # two decisions counted
    with CaptureQueriesContext(connection) as warm:
        assert _decide(world, token) == ("allow", [])  # speculative: no epoch read first
    if counter_backend == "redis":
        assert len(warm.captured_queries) == 1, warm.captured_queries  # the guarded INSERT
    world.connection.save()  # an unrelated write: a new epoch, nothing that changes the answer
    with CaptureQueriesContext(connection) as stale:
        result = decision_make(
            caller=world.resource, token=token, action="read", resource=world.resource.slug
        )
    assert result.decision == "allow"
    assert any("decisions_epoch" in q["sql"] for q in stale.captured_queries[1:])  # re-read
    assert result.remaining["rate"] == 10 - 4  # four answers, four counts
    entries = AuditEntry.objects.filter(action="decision", resource=world.resource.slug)
    assert entries.count() == 4
    assert entries.filter(pk=result.audit_id).exists()


def test_recording_a_credentials_use_keeps_the_epoch_but_its_status_does_not():
    from credentials.models import Credential

    world = make_world()
    epoch = cache.current_epoch()
    assert epoch is not None
    Credential.objects.filter(pk=world.agent_credential.pk).update(last_used_at=timezone.now())
    assert cache.current_epoch() == epoch  # at most once a minute per credential: no churn
    Credential.objects.filter(pk=world.agent_credential.pk).update(status="revoked")
    assert cache.current_epoch() != epoch


def _rs_credential(world):
    from credentials.models import Credential

    return Credential.objects.get(resource=world.resource, kind="client_secret")


def test_a_warm_resource_server_is_not_authenticated_again_until_its_credential_changes(client):
    world = make_world()
    token = world.token()
    assert world.decide(client, token=token).json()["decision"] == "allow"
    assert world.decide(client, token=token).json()["decision"] == "allow"
    with CaptureQueriesContext(connection) as warm:
        assert world.decide(client, token=token).json()["decision"] == "allow"
    table = _rs_credential(world)._meta.db_table
    assert not [q for q in warm.captured_queries if table in q["sql"]], warm.captured_queries
    cred.credential_revoke(credential=_rs_credential(world), reason="leaked")
    response = world.decide(client, token=token)
    assert response.status_code == 401
    # A revoked caller learns nothing more than 401, even with bad input or a foreign resource.
    assert world.decide(client, token=token, action="NOT AN ACTION").status_code == 401
    assert world.decide(client, token=token, resource="elsewhere").status_code == 401


def test_a_remembered_resource_server_still_records_its_use(monkeypatch):
    """A caller answered from its process's memory still has ``last_used_at`` recorded, at
    most ``LAST_USED_GRANULARITY`` late (zero here, so on every request)."""
    from django.test import Client

    world = make_world()
    token = world.token()
    http = Client()
    assert world.decide(http, token=token).status_code == 200
    assert world.decide(http, token=token).status_code == 200  # remembered from here on
    monkeypatch.setattr(authenticate, "LAST_USED_GRANULARITY", dt.timedelta(0))
    before = _rs_credential(world).last_used_at
    assert before is not None
    assert world.decide(http, token=token).status_code == 200
    assert _rs_credential(world).last_used_at > before


@pytest.fixture
def _redis_counters(settings, redis_url):
    settings.REDIS_URL = redis_url
    settings.RATE_LIMIT_BACKEND = "redis"


def _ask(world, token, **kw):
    kw.setdefault("action", "read")
    kw.setdefault("resource", world.resource.slug)
    return decision_make(caller=world.resource, token=token, **kw)


@pytest.mark.usefixtures("_redis_counters")
def test_a_warm_decision_is_one_guarded_insert_with_or_without_a_connection_id(
    django_assert_num_queries,
):
    """Steady state on Redis counters: one EVALSHA and one statement, the audit INSERT — also
    when the resource server names the connection (it is the one read with the context)."""
    world = make_world(rate_limit=100, rate_window_seconds=3600)
    token = world.token()
    for connection_id in (None, world.connection.pk):
        decide = functools.partial(_ask, world, token, connection_id=connection_id)
        # (the first decision after a flush may create the organisation policy row: a new epoch)
        assert decide().decision == decide().decision == "allow"
        for _ in range(3):
            with django_assert_num_queries(1) as captured:
                result = decide()
            assert result.decision == "allow", result.reasons
            assert captured.captured_queries[0]["sql"].startswith("INSERT")
    # someone else's connection, then no connection at all: still answered correctly, warm
    other = f.ConnectionFactory()
    for _ in range(2):
        result = _ask(world, token, connection_id=other.pk)
        assert (result.decision, result.reasons) == ("deny", ["no_connection"])
    with pytest.raises(DecisionInputError):
        _ask(world, token, connection_id=other.pk + 1000)


@pytest.mark.usefixtures("_redis_counters")
def test_a_warm_decision_still_refuses_bad_input_and_counts_and_writes_nothing():
    from audit.models import AuditEntry

    world = make_world(rate_limit=3, rate_window_seconds=3600)
    token = world.token()
    _warm(world, token)  # two counted
    before = AuditEntry.objects.count()
    for bad in ({"cost": -1}, {"cost": "NaN"}, {"cost": "0.00001"}, {"cost": [1]}):
        with pytest.raises(DecisionInputError):
            _ask(world, token, **bad)
    with pytest.raises(DecisionInputError):
        _ask(world, token, action="launch")
    assert AuditEntry.objects.count() == before
    assert _ask(world, token).remaining["rate"] == 0  # the third count: none in between
    result = _ask(world, token)
    assert (result.decision, result.reasons) == ("deny", ["rate_limited"])


@pytest.mark.usefixtures("_redis_counters")
def test_a_connection_expiring_ends_a_warm_decision_by_time_alone(clock):
    world = make_world()
    world.connection.expires_at = timezone.now() + dt.timedelta(seconds=60)
    world.connection.save()
    token = world.token()
    _warm(world, token)
    clock.advance(61)
    assert _decide(world, token) == ("deny", ["connection_expired"])
