"""The production topology end to end, with real processes: ``bin/prod`` (honcho running the
Procfile: gunicorn with 2 workers, a Celery worker, beat) on PostgreSQL and Redis, configured
only by the environment, in production mode.

A person registers an agent through the API, an off-the-shelf OAuth client (Authlib) gets it a
token, a resource server asks for decisions until the rate limit bites, the person suspends the
agent and the next decision is denied; ``/metrics`` adds up both gunicorn workers' and the
Celery worker's counts; ``manage.py audit verify`` proves the chain the sequencer built; of the
two beats started (as if by mistake) one sends and the other stands by; a TERM stops every
process. PostgreSQL only: the processes must see the test database.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from django.core.management import call_command
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from agents.services import api_token_create
from audit.models import AuditEntry
from credentials import services as cred
from tests import factories as f
from tests.platform.test_celery import _database_url
from tests.servers import ROOT, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SECRETS = {
    "SECRET_KEY": "e2e-only-secret-key-" + "k" * 50,
    "CREDENTIAL_SECRET_PEPPER": "e2e-only-pepper-" + "p" * 48,
    "SIGNING_KEY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(
        b"e2e-only-wrapping-key-32-bytes!!"
    ).decode(),
}
RATE_LIMIT = 3


def _environment(tmp_path: Path, port: int, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    env.pop("GOVERNANCE_EMBEDDED", None)  # the suite's one-machine mode: production is the default
    tag = uuid.uuid4().hex[:10]
    return {
        **env,
        **SECRETS,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "OAUTH_ISSUER": f"http://127.0.0.1:{port}",
        "DATABASE_URL": _database_url(),
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_QUEUE": f"e2e-{tag}",  # ours alone on the shared Redis database
        "RATE_LIMIT_PREFIX": f"e2e-{tag}",
        "GOVERNANCE_VAR_DIR": str(tmp_path / "var"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_WORKERS": "2",
        "CELERY_CONCURRENCY": "1",
        "LOG_LEVEL": "INFO",
    }


@contextlib.contextmanager
def production(env: dict[str, str], log: Path):
    """``bin/prod`` in a session of its own; yields once the web answers, stops it after."""
    process = subprocess.Popen(
        # Two beats, as if started by mistake: one sends, the other stands by.
        [str(ROOT / "bin" / "prod"), "-c", "beat=2"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.monotonic() + 40
        while True:
            assert process.poll() is None, log.read_text()[-4000:]
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.3)
        yield process, base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # what a supervisor sends
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _left_in(session: int) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "sid=,stat=,args="], capture_output=True, text=True)
    return [
        line
        for line in ps.stdout.splitlines()
        if line.split()[0] == str(session) and not line.split()[1].startswith("Z")
    ]


def _wait_for(condition, what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n{log.read_text()[-4000:]}"
        time.sleep(0.3)


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_production_topology_end_to_end(tmp_path, redis_url):
    call_command("sync_schedule", stdout=io.StringIO())
    team = f.TeamFactory(slug="e2e-team")
    owner = f.team_member(team, username="olga")
    resource = f.ResourceFactory(slug="e2e-ledger", owner_team=team)
    scope = f.ScopeFactory(name="e2e-ledger:read")
    with override_settings(**SECRETS):  # what the processes hash and check them with
        _, api_token = api_token_create(user=owner, name="e2e")
        rs_secret = cred.credential_issue(resource=resource, by="system").secret
    rs_auth = (resource.slug, rs_secret)

    port = free_port()
    env = _environment(tmp_path, port, redis_url)
    log = tmp_path / "prod.log"
    with production(env, log) as (process, base):
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {api_token}"})
        # Register the agent, its secret, its grant and its connection through the API.
        created = api.post(
            "/api/v1/agents/",
            json={
                "slug": "e2e-agent",
                "display_name": "E2E agent",
                "purpose": "End-to-end check",
                "owner_team": team.slug,
            },
        )
        assert created.status_code == 201, created.text
        issued = api.post("/api/v1/credentials/", json={"agent": "e2e-agent"})
        assert issued.status_code == 201, issued.text
        secret = issued.json()["client_secret"]
        grant = api.post(
            "/api/v1/grants/",
            json={"agent": "e2e-agent", "scope": scope.name, "justification": "e2e"},
        )
        assert grant.status_code == 201, grant.text
        connection = api.post(
            "/api/v1/connections/",
            json={
                "agent": "e2e-agent",
                "resource": resource.slug,
                "allowed_actions": ["read"],
                "rate_limit": RATE_LIMIT,
                "rate_window_seconds": 300,
            },
        )
        assert connection.status_code == 201, connection.text
        _make_trusted("e2e-agent")

        # An off-the-shelf OAuth client, discovering the token endpoint from the metadata.
        metadata = httpx.get(f"{base}/.well-known/oauth-authorization-server").json()
        oauth = OAuth2Client("e2e-agent", secret, token_endpoint_auth_method="client_secret_basic")
        token = oauth.fetch_token(
            metadata["token_endpoint"],
            grant_type="client_credentials",
            resource=resource.audience,
        )
        assert token["scope"] == scope.name

        def decide() -> dict:
            answer = httpx.post(
                f"{base}/api/v1/decisions",
                json={"token": token["access_token"], "action": "read", "resource": resource.slug},
                auth=rs_auth,
            )
            assert answer.status_code == 200, answer.text
            return answer.json()

        answers = [decide() for _ in range(RATE_LIMIT + 1)]
        assert [a["decision"] for a in answers] == ["allow"] * RATE_LIMIT + ["deny"]
        assert answers[-1]["reasons"] == ["rate_limited"]

        suspended = api.post("/api/v1/agents/e2e-agent/suspend/", json={"reason": "e2e"})
        assert suspended.status_code == 200, suspended.text
        after = decide()
        assert after["decision"] == "deny" and "agent_inactive" in after["reasons"], after

        # The Celery worker and beat run: the sequencer chains every entry of this story.
        _wait_for(
            lambda: not AuditEntry.objects.filter(seq__isnull=True).exists(),
            "the sequencer did not chain the entries",
            log,
        )
        # /metrics: both gunicorn workers' counts (and the Celery worker's) added up. The
        # worker counts a task once it has returned, a moment after its commit chained the
        # entries: scrape until that count is there.
        scraped: dict = {}

        def sample(name, **labels):
            return scraped.get((name, frozenset(labels.items())), 0)

        def sequencer_counted() -> bool:
            scraped.update(_samples(httpx.get(f"{base}/metrics").text))
            return (
                sample("governance_celery_tasks_total", task="audit.sequence", outcome="succeeded")
                >= 1
            )

        _wait_for(sequencer_counted, "no succeeded audit.sequence task in /metrics", log)

        assert (
            sample(
                "governance_tokens_total",
                grant="client_credentials",
                method="client_secret_basic",
                outcome="issued",
            )
            == 1
        )
        assert sample("governance_decisions_total", outcome="allow", reason="none") == RATE_LIMIT
        assert sample("governance_decisions_total", outcome="deny", reason="rate_limited") == 1
        assert sample("governance_decisions_total", outcome="deny", reason="agent_inactive") == 1
        assert sample("governance_decision_seconds_count") == RATE_LIMIT + 2
        assert sample("governance_token_seconds_count") == 1

        verify = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "audit", "verify"],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "governance.settings"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr

        # One beat sent, the other stood by (read before the stop, when the standby may take over).
        running = log.read_text()
        assert running.count("this beat holds the lock") == 1, running[-3000:]
        assert running.count("another beat holds the lock; this one stands by") == 1

        # Stop cleanly: a TERM to bin/prod stops every process of the topology.
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        assert _left_in(process.pid) == [], log.read_text()[-3000:]
    text = log.read_text()
    for name in ("web.1", "worker.1", "beat.1", "beat.2"):
        assert f"{name} stopped" in text


def _make_trusted(slug: str) -> None:
    """A reviewer's decision on the trust level (the engine would take days of history)."""
    from agents.models import Agent
    from trust.services import trust_level_set

    trust_level_set(
        agent=Agent.objects.get(slug=slug), score=80, level="trusted", reason="e2e", by="system"
    )
