"""The embedded default under concurrent load: a real gunicorn (2 workers × 2 threads, the
project's config) on a SQLite *file*, as ``bin/up`` runs it, hammered by eight client threads.

Every token request succeeds and is audited exactly once, for ``client_secret_basic`` (one
INSERT in autocommit, in the writer's turn) and ``private_key_jwt`` (the jti row and the entry
in one transaction begun in its turn). The suite's own SQLite database is in memory, so this is
the test that drives ``audit.sqlite_turns`` through the token endpoint.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from tests.servers import ROOT, free_port, gunicorn

REQUESTS_PER_THREAD = 15
THREADS = 8

SETUP = """
import json
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from agents.models import Agent, Scope, ScopeGrant, Team
from credentials import services
team = Team.objects.create(slug="embedded", name="Embedded")
agent = Agent.objects.create(
    slug="embedded-agent", display_name="E", purpose="t", owner_team=team, trust_level="pending"
)
scope = Scope.objects.create(name="ledger:read")
ScopeGrant.objects.create(agent=agent, scope=scope, justification="t")
secret = services.credential_issue(agent=agent, by="system:test").secret
private = ec.generate_private_key(ec.SECP256R1())
public = json.loads(ECAlgorithm.to_jwk(private.public_key()))
key = services.credential_issue(agent=agent, kind="public_key", public_jwk=public).credential
print(json.dumps({"secret": secret, "kid": key.pk, "private": ECAlgorithm.to_jwk(private)}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var = tmp_path_factory.mktemp("embedded")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "GOVERNANCE_VAR_DIR": str(var),
        "OAUTH_ISSUER": issuer,
        "LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    made = subprocess.run(
        [*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True
    )
    world = json.loads(made.stdout.decode().strip().splitlines()[-1])
    with gunicorn(port, env):
        yield issuer, world, var / "governance.sqlite3"


def _hammer(send) -> list[int]:
    statuses: list[int] = []

    def worker():
        with httpx.Client(timeout=30) as client:
            for _ in range(REQUESTS_PER_THREAD):
                statuses.append(send(client))

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


def _issued(database: Path) -> int:
    db = sqlite3.connect(database)
    try:
        query = "SELECT COUNT(*) FROM audit_auditentry WHERE action = 'token.issue'"
        return db.execute(query).fetchone()[0]
    finally:
        db.close()


def test_concurrent_secret_requests_all_succeed_and_are_each_audited(server):
    issuer, world, database = server
    before = _issued(database)
    statuses = _hammer(
        lambda client: (
            client.post(
                f"{issuer}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=("embedded-agent", world["secret"]),
            ).status_code
        )
    )
    assert statuses == [200] * (THREADS * REQUESTS_PER_THREAD)
    assert _issued(database) - before == THREADS * REQUESTS_PER_THREAD
    assert Path(f"{database}.write-lock").exists()  # the writers took turns


def test_concurrent_key_requests_all_succeed_and_are_each_audited(server):
    issuer, world, database = server
    private = jwt.PyJWK(json.loads(world["private"])).key

    def send(client):
        now = int(time.time())
        claims = {
            "iss": "embedded-agent",
            "sub": "embedded-agent",
            "aud": f"{issuer}/oauth/token",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        assertion = jwt.encode(claims, private, algorithm="ES256", headers={"kid": world["kid"]})
        return client.post(
            f"{issuer}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        ).status_code

    before = _issued(database)
    statuses = _hammer(send)
    assert statuses == [200] * (THREADS * REQUESTS_PER_THREAD)
    assert _issued(database) - before == THREADS * REQUESTS_PER_THREAD
