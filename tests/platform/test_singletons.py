"""Exactly one beat and one audit sequencer at a time, even when two are started by mistake.

The cross-process tests start real processes against the test database, so they run on
PostgreSQL (the lock there is a session advisory lock); the lock's own behaviour is checked on
both databases in one process (two ``Leadership`` objects are two connections, or two open
files, exactly as two processes would have).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from audit.leader import Leadership
from audit.models import AuditEntry
from audit.services import record
from audit.tasks import sequence
from tests.platform.test_celery import ROOT, _database_url


def test_one_holder_at_a_time_and_the_next_takes_over(db):
    name = f"test-{uuid.uuid4().hex[:8]}"
    first, second = Leadership(name), Leadership(name)
    try:
        assert first.acquire() and first.held()
        assert not second.acquire() and not second.held()
        assert first.acquire()  # re-entrant for its holder
        first.release()
        assert second.acquire() and second.held()
        assert not first.acquire()
    finally:
        first.close()
        second.close()


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": "filesystem://",
        "GOVERNANCE_VAR_DIR": str(tmp_path / "var"),
        "DB_CONN_MAX_AGE": "0",
        "LOG_LEVEL": "INFO",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def _beat(tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "governance", "beat", "-s", str(tmp_path / name)],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log


def _stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_send_once_and_the_standby_takes_over(tmp_path):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.create(
        name="test: every second", task="agents.expire_grants", interval=every_second
    )
    sent = "Sending due task test: every second"
    holds, stands_by = "this beat holds the lock", "another beat holds the lock; this one stands by"
    beats = [_beat(tmp_path, "beat-1"), _beat(tmp_path, "beat-2")]  # started together
    try:
        for process, log in beats:
            _wait_for_either((holds, stands_by), log, process)
        leaders = [b for b in beats if holds in b[1].read_text()]
        assert len(leaders) == 1, [log.read_text()[-2000:] for _, log in beats]
        (leader, leader_log), (standby, standby_log) = sorted(beats, key=lambda b: b not in leaders)
        assert stands_by in standby_log.read_text()
        _wait_for_count(sent, leader_log, leader, 2)
        assert sent not in standby_log.read_text()  # the standby sent nothing meanwhile

        _stop(leader)  # the holder goes away: its connection ends, and the lock with it
        _wait_for_either((holds,), standby_log, standby)
        _wait_for_count(sent, standby_log, standby, 1)
    finally:
        for process, _ in beats:
            _stop(process)


def _wait_for_either(texts, log: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while not any(text in log.read_text() for text in texts):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.2)


def _wait_for_count(text: str, log: Path, process: subprocess.Popen, count: int) -> None:
    deadline = time.monotonic() + 30
    while log.read_text().count(text) < count:
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.2)


HOLD = """
import sys, django
django.setup()
from audit.tasks import sequencer_lock
assert sequencer_lock().acquire()
print("held", flush=True)
sys.stdin.read()
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_sequencer_stands_aside_while_another_process_sequences(tmp_path):
    record(actor="system", action="test.singleton")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD],
        cwd=ROOT,
        env=_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert sequence() == 0  # another process is the sequencer
        assert AuditEntry.objects.filter(seq__isnull=True).exists()
    finally:
        holder.stdin.close()  # it exits, and the server releases its lock
        holder.wait(timeout=20)
    assert sequence() >= 1
    assert not AuditEntry.objects.filter(seq__isnull=True).exists()


def test_the_settings_name_the_single_beat_scheduler():
    assert settings.CELERY_BEAT_SCHEDULER == "governance.beat.scheduler:SingleBeatScheduler"
