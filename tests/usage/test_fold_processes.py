"""Real folder processes on PostgreSQL: two at once, and one killed in the middle of a batch."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection, transaction

from tests import factories as f
from tests.db import ROOT, postgres_env
from trust.usage.fold import usage_fold, usage_rebuild
from trust.usage.models import UsageHour, UsageWatermark

from .history import History

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _folder(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "usage", "fold", *args],
        env=postgres_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _history(agents, per_agent: int) -> int:
    h = History()
    for i, agent in enumerate(agents):
        for j in range(per_agent):
            at = T0 + dt.timedelta(minutes=7 * j + i)
            h.decision(agent, at, decision="deny" if j % 5 == 0 else "allow")
            if j % 3 == 0:
                h.token(agent, at)
    return h.write()


def _snapshot() -> dict:
    return {
        (r.hour, r.agent_id, r.resource, r.action, r.credential_id): (r.allowed, r.denied, r.issued)
        for r in UsageHour.objects.all()
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_folders_at_once_count_every_entry_once():
    agents = [f.AgentFactory() for _ in range(4)]
    total = _history(agents, per_agent=150)
    folders = [_folder("--batch-size", "7") for _ in range(2)]
    outputs = []
    for proc in folders:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        outputs.append(out)
    assert UsageWatermark.objects.get(name="usage").position == total
    raced = _snapshot()
    usage_rebuild()  # the same log folded by one folder in one go
    assert _snapshot() == raced
    assert sum(r.allowed + r.denied for r in UsageHour.objects.all()) == 4 * 150


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_folder_killed_mid_batch_counts_nothing_twice():
    agents = [f.AgentFactory() for _ in range(2)]
    total = _history(agents, per_agent=60)
    # Let the folder write its hourly counters, then hold it at the totals' upsert.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE trust_usagetotal IN EXCLUSIVE MODE")
        proc = _folder("--batch-size", "50")
        deadline = time.monotonic() + 60
        while True:
            with connection.cursor() as cursor:
                # Statistics views are a snapshot per transaction unless cleared.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT wait_event_type, query FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                activity = cursor.fetchall()
                if any(w == "Lock" and "trust_usagetotal" in q for w, q in activity):
                    break
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"the folder never reached the totals: {activity}")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    # The dead folder's transaction never committed: nothing of its batch is visible.
    assert UsageWatermark.objects.filter(name="usage", position__gt=0).count() == 0
    assert not UsageHour.objects.exists()

    result = usage_fold(batch_size=50)  # waits for the dead backend's lock, then redoes it

    assert result.position == total
    assert sum(r.allowed + r.denied for r in UsageHour.objects.all()) == 2 * 60
    folded = _snapshot()
    usage_rebuild()
    assert _snapshot() == folded
