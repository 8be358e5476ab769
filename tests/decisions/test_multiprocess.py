"""Several real server processes share one truth: exact limits, and revocation seen at once.

Each child process runs the decision function against the same PostgreSQL test database (and
Redis), as two gunicorn workers would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from agents import services as registry
from audit.models import AuditEntry
from credentials import services as cred
from trust.services import trust_level_set

from .conftest import make_world

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _env(backend: str, redis_url: str = "") -> dict:
    s = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL")}
    env.update(
        DATABASE_URL=f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}",
        RATE_LIMIT_BACKEND=backend,
        TEST_RATE_LIMIT_PREFIX=f"test-dec-{uuid.uuid4().hex}",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


@pytest.mark.parametrize("counter_backend", ["database", "redis"])
def test_two_processes_hammering_one_connection_get_exactly_n_allows(
    counter_backend, request, settings
):
    redis_url = request.getfixturevalue("redis_url") if counter_backend == "redis" else ""
    world = make_world(rate_limit=20, rate_window_seconds=3600)
    token = world.token()
    env = _env(counter_backend, redis_url)
    start_at = str(time.time() + 10)  # Django starts slowly on a busy machine
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.decisions._decide",
                "hammer",
                str(world.resource.pk),
                token,
                "30",
                start_at,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    counts = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        counts.append(int(out.strip().splitlines()[-1]))
    assert sum(counts) == 20, counts
    decisions = AuditEntry.objects.filter(action="decision", resource=world.resource.slug)
    assert decisions.count() == 62  # every decision audited, allowed or not
    assert decisions.filter(outcome="success").count() == 20


def test_a_warm_second_process_sees_suspension_and_revocation_at_once(settings):
    world = make_world()
    token = world.token()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.decisions._decide",
            "stepwise",
            str(world.resource.pk),
            token,
        ],
        cwd=ROOT,
        env=_env("database"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def ask(line: str = "go") -> str:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        return proc.stdout.readline().strip()

    try:
        assert ask() == "allow"
        assert ask() == "allow"  # warm: everything it could cache, it has
        assert ask("cached") == "yes"  # so what follows is a cache being invalidated
        registry.agent_suspend(agent=world.agent, reason="incident")
        assert ask() == "deny agent_inactive"
        registry.agent_reactivate(agent=world.agent, reason="resolved")
        assert ask() == "allow"
        # trust_level_set writes with QuerySet.update(): the epoch trigger sees it all the same.
        trust_level_set(agent=world.agent, score=10, level="untrusted", reason="t", by="system")
        assert ask() == "deny trust_quarantined"
        trust_level_set(agent=world.agent, score=80, level="trusted", reason="t", by="system")
        assert ask() == "allow"
        assert ask() == "allow"  # warm again
        assert ask("cached") == "yes"
        cred.credential_revoke(credential=world.agent_credential, reason="leaked")
        assert ask() == "deny credential_revoked"
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
