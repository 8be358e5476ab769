"""Celery end to end: real worker processes, a real broker, a real database.

Both tests start ``celery worker`` as a separate process against the test database, so they
need a database other processes can see: PostgreSQL (``DATABASE_URL``). They are skipped on the
in-memory SQLite run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from agents.models import ScopeGrant
from audit.models import AuditEntry
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def _start_worker(tmp_path: Path, *, broker: str, extra: list[str]) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "GOVERNANCE_VAR_DIR": str(tmp_path / "var"),
        "DB_CONN_MAX_AGE": "0",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    log = (tmp_path / "worker.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "governance",
            "worker",
            "--loglevel",
            "INFO",
            "--pool",
            "solo",
            "--without-mingle",
            "--without-gossip",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the embedded beat child goes with it
    )


def _stop(worker: subprocess.Popen) -> None:
    """Stop the worker and every child (beat holds a database session of its own)."""
    os.killpg(worker.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def _wait_for_expiry(grant: ScopeGrant, worker: subprocess.Popen, log: Path, timeout=60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        grant.refresh_from_db()
        if grant.status == ScopeGrant.Status.EXPIRED:
            return
        assert worker.poll() is None, f"worker died:\n{log.read_text()[-3000:]}"
        time.sleep(0.3)
    pytest.fail(f"grant not expired within {timeout}s; worker log:\n{log.read_text()[-3000:]}")


def _lapsed_grant() -> ScopeGrant:
    grant = f.ScopeGrantFactory(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert grant.status == ScopeGrant.Status.ACTIVE
    return grant


def test_expire_grants_runs_in_a_real_worker_through_redis(tmp_path, redis_url):
    from governance.celery import app

    grant = _lapsed_grant()
    queue = f"test-platform-{uuid.uuid4().hex[:12]}"  # our own queue on the shared Redis db
    worker = _start_worker(tmp_path, broker=redis_url, extra=["-Q", queue])
    try:
        with app.connection_for_write(redis_url) as conn:
            app.send_task("agents.expire_grants", queue=queue, connection=conn)
        _wait_for_expiry(grant, worker, tmp_path / "worker.log")
    finally:
        _stop(worker)
    entry = AuditEntry.objects.get(action="grant.expire", target_id=str(grant.pk))
    assert entry.actor == "system"
    assert "agents.expire_grants" in (tmp_path / "worker.log").read_text()


def test_embedded_beat_and_filesystem_broker_across_processes(tmp_path):
    """The embedded default of ``bin/up``: beat inside the worker, messages as files in var/."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.create(
        name="test: expire grants every second", task="agents.expire_grants", interval=every_second
    )
    grant = _lapsed_grant()
    worker = _start_worker(
        tmp_path,
        broker="filesystem://",
        extra=[
            "-B",
            "-s",
            str(tmp_path / "beat-schedule"),
            "--scheduler",
            settings.CELERY_BEAT_SCHEDULER,
        ],
    )
    try:
        _wait_for_expiry(grant, worker, tmp_path / "worker.log")
    finally:
        _stop(worker)
    log = (tmp_path / "worker.log").read_text()
    assert "Sending due task test: expire grants every second" in log  # beat sent it
    assert "agents.expire_grants" in log and "succeeded" in log  # the worker ran it
    assert (tmp_path / "var" / "broker" / "out").is_dir()


def test_a_notice_is_emailed_once_by_a_real_worker(tmp_path, redis_url, monkeypatch):
    """The worker process sends through the email backend of its environment (EMAIL_URL), and
    the task queued twice plus the sweep still make one message."""
    from agents.notices.models import OutboxMessage
    from agents.notices.services import notify
    from governance.celery import app

    team = f.TeamFactory(slug="mailers")
    f.team_member(team, username="mo")
    notice = notify(kind="credential.rotation_due", subject="Rotate it", body="Now.", team=team)
    message = notice.outbox.get()
    OutboxMessage.objects.filter(pk=message.pk).update(
        available_at=timezone.now() - dt.timedelta(minutes=5)
    )
    mail_dir = tmp_path / "mail"
    monkeypatch.setenv("EMAIL_URL", f"filemail://{mail_dir}")
    queue = f"test-platform-{uuid.uuid4().hex[:12]}"
    worker = _start_worker(tmp_path, broker=redis_url, extra=["-Q", queue])
    try:
        with app.connection_for_write(redis_url) as conn:
            for name, args in [
                ("notices.deliver", [message.pk]),
                ("notices.sweep_outbox", []),
                ("notices.deliver", [message.pk]),
            ]:
                app.send_task(name, args=args, queue=queue, connection=conn)
        deadline = time.monotonic() + 60
        log = tmp_path / "worker.log"
        while log.read_text().count("succeeded") < 3 and time.monotonic() < deadline:
            assert worker.poll() is None, f"worker died:\n{log.read_text()[-3000:]}"
            time.sleep(0.3)
    finally:
        _stop(worker)
    message.refresh_from_db()
    assert message.delivered_at is not None and message.attempts == 1, log.read_text()[-3000:]
    (sent,) = list(mail_dir.iterdir())
    text = sent.read_text()
    assert "Subject: [Agent governance] Rotate it" in text and "To: mo@example.test" in text
    assert f"Message-ID: <notice-{message.pk}@" in text
