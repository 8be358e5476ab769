"""Faults with real processes (issue 13): a Celery worker SIGKILLed inside a credential rotation
task and inside the trust recomputation, on PostgreSQL with a real Redis broker.

To be *inside* the task without touching our code, the test holds ``LOCK TABLE
audit_auditentry IN EXCLUSIVE MODE``: the task runs until its first audit entry, after it has
written the rows the entry is about, and waits there (seen in ``pg_stat_activity``). The test
kills the worker, then lets go of the lock. Two kills:

- ``group``: the worker's whole process group, as a lost host would. Nothing is left to hand the
  message back, so it stays unacknowledged in Redis until the broker's visibility timeout; the
  fresh worker runs with ``CELERY_VISIBILITY_TIMEOUT=1`` and takes it back when it starts.
- ``child``: the pool process running the task, as the kernel's OOM killer would. The worker
  itself sees it lost and, the tasks being ``acks_late`` with ``reject_on_worker_lost``, puts the
  message back at once; a new pool process runs it.

Then: the dead transaction left nothing behind, the agent still gets a token, the redelivered
task did its work exactly once, and the audit chain verifies with no gap.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from agents.models import Agent, TrustLevel
from agents.notices.models import Notice, NoticeKind
from audit.chain import sequence_pending
from audit.models import AuditEntry
from audit.verification import verify_database
from credentials import services, signing
from credentials.models import Credential, SigningKey
from credentials.token_check import check_access_token
from tests import factories as f
from tests.credentials.conftest import agent_with_secret
from tests.db import ROOT, postgres_env
from trust.models import TrustComputation
from trust.recompute import explain

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FORM = "application/x-www-form-urlencoded"
WORKER_FLAGS = "--loglevel INFO --pool prefork --concurrency 1 --without-mingle --without-gossip"


class Worker:
    """``celery worker`` (prefork, one pool process) on its own queue of the test's Redis."""

    def __init__(self, tmp_path: Path, redis_url: str, queue: str, name: str, **env: str) -> None:
        self.log = tmp_path / f"{name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "governance", "worker", *WORKER_FLAGS.split()],
            cwd=ROOT,
            env={
                **postgres_env(),
                "CELERY_BROKER_URL": redis_url,
                # Its default queue: the tasks it sends on commit stay in the test's queue too.
                "CELERY_QUEUE": queue,
                "GOVERNANCE_VAR_DIR": str(tmp_path / "var"),
                **env,
            },
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, pool process included
        )

    def text(self) -> str:
        return self.log.read_text()

    def succeeded(self, task: str) -> bool:
        """Its log has the line Celery writes when ``task`` returns."""
        return any(task in line and " succeeded in " in line for line in self.text().splitlines())

    def pool_process(self) -> int:
        """The one pool process (the worker's only child)."""
        children = [
            int(stat.split()[0])
            for stat in (p.read_text() for p in Path("/proc").glob("[0-9]*/stat") if _readable(p))
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid
        ]
        assert len(children) == 1, children
        return children[0]

    def wait_for(self, done: Callable[[], bool], what: str, seconds: float = 25) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            assert self.proc.poll() is None, f"worker died:\n{self.text()[-3000:]}"
            assert time.monotonic() < deadline, f"no {what} in {seconds}s:\n{self.text()[-3000:]}"
            time.sleep(0.2)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _readable(path: Path) -> bool:
    try:
        path.read_text()
    except OSError:  # the process ended meanwhile
        return False
    return True


def _send(redis_url: str, queue: str, name: str, args: list | None = None) -> None:
    from governance.celery import app

    with app.connection_for_write(redis_url) as conn:
        app.send_task(name, args=args or [], queue=queue, connection=conn)


def _backends() -> list[tuple[int, str | None, str, str | None]]:
    """Other sessions on the test database: pid, what it waits for, its statement, and its
    transaction id (set once the transaction has written a row)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else one snapshot per transaction
        cursor.execute(
            "SELECT pid, wait_event_type, query, backend_xid::text FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchall()


@contextlib.contextmanager
def _audit_table_held():
    """The test's transaction holding the audit table: every audit INSERT waits until it ends."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE audit_auditentry IN EXCLUSIVE MODE")
        yield


class Inside:
    """The steps of one kill inside a task (see the module docstring)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.backend: int | None = None
        self.wrote = False

    def wait_blocked(self, seconds: float = 25) -> None:
        def blocked() -> bool:
            for pid, wait, query, xid in _backends():
                if wait == "Lock" and "audit_auditentry" in query and "INSERT" in query.upper():
                    self.backend, self.wrote = pid, xid is not None
                    return True
            return False

        self.worker.wait_for(blocked, "task waiting at its audit entry", seconds)
        assert self.wrote, "the task had written nothing yet: not inside its transaction"

    def kill(self, how: str) -> None:
        if how == "group":
            os.killpg(self.worker.proc.pid, signal.SIGKILL)
            self.worker.proc.wait(timeout=10)
        else:
            os.kill(self.worker.pool_process(), signal.SIGKILL)

    def wait_backend_gone(self, seconds: float = 15) -> None:
        deadline = time.monotonic() + seconds
        while any(row[0] == self.backend for row in _backends()):
            assert time.monotonic() < deadline, "the dead worker's transaction is still open"
            time.sleep(0.1)


def _token(client, agent_id: str, secret: str):
    """POST /oauth/token (client credentials) through the Django test client."""
    basic = base64.b64encode(f"{agent_id}:{secret}".encode()).decode()
    return client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type=FORM,
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )


def _chain_verifies() -> None:
    sequence_pending()
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))  # every entry chained once: no gap, no fork
    report = verify_database(jwks=None)
    assert report.ok, report.lines()


@pytest.fixture
def queue(redis_url):
    """A queue of this test's own on the shared Redis database, gone afterwards."""
    import redis

    name = f"test-kills-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    client.delete(name)
    client.close()


@pytest.fixture(autouse=True)
def _issuer(settings):
    settings.OAUTH_ISSUER = "http://testserver"


def _sound_agent():
    """An agent the engine rates pending (so never quarantined at the token endpoint, whenever
    the recomputation a credential change queues runs): a team with a member, a reviewed
    version, a secret."""
    team = f.TeamFactory()
    f.team_member(team)
    client = agent_with_secret(scopes=(), owner_team=team)
    version = f.AgentVersionFactory(agent=client.agent, reviewed=True)
    Agent.objects.filter(pk=client.agent.pk).update(current_version=version)
    client.agent.refresh_from_db()
    return client


def test_worker_killed_mid_rotation_sweep(tmp_path, redis_url, queue, client):
    """``credentials.rotation_sweep`` killed (whole worker) while it expires a rotated
    credential whose overlap ended: the successor works throughout, the predecessor is not half
    expired, and the fresh worker's run expires it once (one audit entry, one notice)."""
    agent = _sound_agent()
    old = Credential.objects.get(pk=agent.credential_id)
    successor = services.credential_rotate(credential=old, by="system")
    new_secret, new_id = successor.secret, successor.credential.pk
    Credential.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    entries_before = AuditEntry.objects.count()

    first = Worker(tmp_path, redis_url, queue, "first")
    inside = Inside(first)
    try:
        with _audit_table_held():
            _send(redis_url, queue, "credentials.rotation_sweep")
            inside.wait_blocked()  # old is expired in its transaction, the entry waits
            inside.kill("group")
        inside.wait_backend_gone()
    finally:
        first.stop()

    # Nothing of the dead run is left: the predecessor is still the rotating one, unaudited.
    old.refresh_from_db()
    assert old.status == Credential.Status.ROTATING and old.ended_at is None
    assert AuditEntry.objects.count() == entries_before
    assert not Notice.objects.filter(kind=NoticeKind.CREDENTIAL_EXPIRED).exists()
    live = Credential.objects.filter(agent=agent.agent, status=Credential.Status.ACTIVE)
    assert list(live.values_list("pk", flat=True)) == [new_id]  # one current credential
    assert _token(client, agent.client_id, new_secret).status_code == 200
    assert _token(client, agent.client_id, agent.secret).status_code == 401  # its overlap ended

    fresh = Worker(tmp_path, redis_url, queue, "fresh", CELERY_VISIBILITY_TIMEOUT="1")
    try:
        expired = AuditEntry.objects.filter(action="credential.expire", credential_id=old.pk)
        fresh.wait_for(expired.exists, "credential.expire entry")
        fresh.wait_for(lambda: fresh.succeeded("credentials.rotation_sweep"), "success")
    finally:
        fresh.stop()

    old.refresh_from_db()
    assert old.status == Credential.Status.EXPIRED
    assert expired.count() == 1
    assert Notice.objects.filter(kind=NoticeKind.CREDENTIAL_EXPIRED, dedupe_key=old.pk).count() == 1
    assert list(live.values_list("pk", flat=True)) == [new_id]
    assert _token(client, agent.client_id, new_secret).status_code == 200
    _chain_verifies()


def test_worker_pool_process_killed_mid_signing_key_rotation(tmp_path, redis_url, queue, client):
    """``credentials.rotate_signing_keys`` killed (its pool process) after it retired the
    current key and promoted the next: others still see exactly one current and one next key,
    tokens keep verifying, and the worker's redelivery (``reject_on_worker_lost``) rotates once."""
    agent = _sound_agent()
    old_kid = signing.current_kid()
    nxt = SigningKey.objects.get(status=SigningKey.Status.NEXT)
    now = timezone.now()
    SigningKey.objects.filter(kid=old_kid).update(activated_at=now - dt.timedelta(days=31))
    SigningKey.objects.filter(pk=nxt.pk).update(created_at=now - dt.timedelta(days=1))
    before = _token(client, agent.client_id, agent.secret).json()["access_token"]

    worker = Worker(tmp_path, redis_url, queue, "worker")
    inside = Inside(worker)
    try:
        with _audit_table_held():
            _send(redis_url, queue, "credentials.rotate_signing_keys")
            inside.wait_blocked()
            inside.kill("child")
            # Meanwhile everyone else reads the keys as they were.
            keys = dict(SigningKey.objects.values_list("kid", "status"))
            assert keys == {old_kid: "current", nxt.kid: "next"}
        inside.wait_backend_gone()
        rotated = AuditEntry.objects.filter(action="signing_key.rotate")
        worker.wait_for(rotated.exists, "signing_key.rotate entry")
        worker.wait_for(lambda: worker.succeeded("credentials.rotate_signing_keys"), "success")
    finally:
        worker.stop()

    assert "WorkerLostError" in worker.text()  # the worker saw its pool process die
    assert rotated.count() == 1 and rotated.get().changes == {
        "retired": old_kid,
        "current": nxt.kid,
    }
    statuses = sorted(SigningKey.objects.values_list("status", flat=True))
    assert statuses == ["current", "next", "retired"]
    assert SigningKey.objects.get(status="current").kid == nxt.kid
    signing.forget()
    assert check_access_token(before).active  # signed by the retired key, still published
    after = _token(client, agent.client_id, agent.secret)
    assert after.status_code == 200
    assert check_access_token(after.json()["access_token"]).active
    _chain_verifies()


@pytest.mark.parametrize(
    ("task", "kill"), [("trust.recompute_all", "group"), ("trust.recompute_agent", "child")]
)
def test_worker_killed_mid_trust_recomputation(tmp_path, redis_url, queue, client, task, kill):
    """The recomputation killed after it wrote history rows and agents' new levels, at the
    level change's audit entry: none of it stays, the agents keep their credentials, and the
    redelivered task writes each agent's history row and level change once. (The beat task,
    ``trust.recompute_all``, sends the span of all three agents as ``trust.recompute_span``: it
    is that task the kill interrupts and the fresh worker runs again.)"""
    agents = [_sound_agent() for _ in range(3)]
    computed = {}
    for a in agents:
        outcome, _ = explain(a.agent)
        computed[a.agent.pk] = outcome.level
        # A stored level the computation will change (never to untrusted: tokens keep flowing).
        other = TrustLevel.TRUSTED if outcome.level != TrustLevel.TRUSTED else TrustLevel.PENDING
        Agent.objects.filter(pk=a.agent.pk).update(trust_level=other)
    assert TrustLevel.UNTRUSTED not in computed.values(), computed
    targets = agents if task == "trust.recompute_all" else agents[:1]
    stored = dict(Agent.objects.values_list("pk", "trust_level"))
    history = TrustComputation.objects.filter(agent__in=[a.agent for a in targets])
    history_before = history.count()
    changes = AuditEntry.objects.filter(action="trust.level_change")

    first = Worker(tmp_path, redis_url, queue, "first")
    inside = Inside(first)
    try:
        with _audit_table_held():
            _send(redis_url, queue, task, [agents[0].agent.pk] if task.endswith("agent") else [])
            inside.wait_blocked()
            inside.kill(kill)
        inside.wait_backend_gone()
        if kill == "group":
            # Nothing of the dead run is left, and every agent still gets a token.
            assert history.count() == history_before and not changes.exists()
            assert dict(Agent.objects.values_list("pk", "trust_level")) == stored
            for a in agents:
                assert _token(client, a.client_id, a.secret).status_code == 200
            first.stop()
            first = Worker(tmp_path, redis_url, queue, "fresh", CELERY_VISIBILITY_TIMEOUT="1")
        first.wait_for(lambda: changes.count() >= len(targets), "trust.level_change entries")
        done = "trust.recompute_span" if task == "trust.recompute_all" else task
        first.wait_for(lambda: first.succeeded(done), "success")
    finally:
        first.stop()

    if kill == "child":
        assert "WorkerLostError" in first.text()  # the worker saw its pool process die

    assert changes.count() == len(targets)
    assert history.count() == history_before + len(targets)
    for a in targets:
        assert changes.filter(target_id=str(a.agent.pk)).count() == 1
        assert Agent.objects.get(pk=a.agent.pk).trust_level == computed[a.agent.pk]
    for a in agents:
        assert _token(client, a.client_id, a.secret).status_code == 200
    _chain_verifies()
