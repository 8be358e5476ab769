"""Faults with real processes (issue 13, Deliver): a real gunicorn whose database goes away and
comes back, and whose Redis is not there.

The server reaches PostgreSQL through a TCP proxy in this process: stopping the proxy drops
every connection and refuses new ones, as a database host that went away would. The token and
decision endpoints then answer 503 ``temporarily_unavailable`` (never a 500, never a token or an
allow) and, once the proxy is back, answer normally again with no restart. PostgreSQL only: the
server processes must see the test database.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import httpx
import pytest
from django.db import connection

from credentials.models import Credential
from tests import factories as f
from tests.credentials.conftest import agent_with_secret, resource_with_secret
from tests.servers import free_port
from tests.servers import gunicorn as run_gunicorn

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; ``stop()`` drops every connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        sockets, self._sockets = [*self._sockets, self._listener], []
        self._listener = None
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def proxied_server(settings):
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    settings.OAUTH_ISSUER = issuer
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        "OAUTH_ISSUER": issuer,
        "LOG_LEVEL": "CRITICAL",
        "DB_CONN_MAX_AGE": "60",
    }
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)
    with run_gunicorn(port, env, workers=1):
        yield issuer, proxy
    proxy.stop()


def _until(predicate, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_database_gone_means_503_then_recovery_by_itself(proxied_server):
    issuer, proxy = proxied_server
    rs = resource_with_secret(slug="ledger", audience="https://ledger.example.test")
    agent = agent_with_secret(scopes=("ledger:read",))
    f.ConnectionFactory(agent=agent.agent, resource=rs.resource, allowed_actions=["read"])
    assert Credential.objects.filter(pk=agent.credential_id).exists()

    def token() -> httpx.Response:
        return httpx.post(
            f"{issuer}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(agent.client_id, agent.secret),
            timeout=30,
        )

    def decide(access_token: str) -> httpx.Response:
        return httpx.post(
            f"{issuer}/api/v1/decisions",
            json={"token": access_token, "action": "read", "resource": rs.resource.slug},
            auth=(rs.client_id, rs.secret),
            timeout=30,
        )

    first = token()
    assert first.status_code == 200, first.text
    access_token = first.json()["access_token"]
    assert decide(access_token).status_code == 200  # warm: both remembered by the worker

    proxy.stop()
    refused_token, refused_decision = token(), decide(access_token)
    assert refused_token.status_code == 503, refused_token.text
    assert refused_token.json()["error"] == "temporarily_unavailable"
    assert "access_token" not in refused_token.json()
    assert refused_decision.status_code == 503, refused_decision.text
    assert refused_decision.json()["error"] == "temporarily_unavailable"
    assert "decision" not in refused_decision.json()

    proxy.start()
    assert _until(lambda: token().status_code == 200)
    assert _until(lambda: decide(access_token).status_code == 200)
    assert decide(access_token).json()["decision"] in ("allow", "deny", "approval_required")


def test_redis_gone_means_rate_limited_decisions_fail_closed(settings):
    """The counters' Redis is not there: a decision on a rate-limited connection is 503,
    counted nowhere, and nothing is allowed."""
    db = connection.settings_dict
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    settings.OAUTH_ISSUER = issuer
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "OAUTH_ISSUER": issuer,
        "LOG_LEVEL": "CRITICAL",
        "REDIS_URL": dead_redis,
        "RATE_LIMIT_BACKEND": "redis",
        "CACHE_URL": "locmemcache://faults",
    }
    rs = resource_with_secret(slug="ledger", audience="https://ledger.example.test")
    agent = agent_with_secret(scopes=("ledger:read",))
    f.ConnectionFactory(
        agent=agent.agent, resource=rs.resource, allowed_actions=["read"], rate_limit=10
    )
    with run_gunicorn(port, env, workers=1):
        issued = httpx.post(
            f"{issuer}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(agent.client_id, agent.secret),
            timeout=30,
        )
        assert issued.status_code == 200, issued.text
        answer = httpx.post(
            f"{issuer}/api/v1/decisions",
            json={
                "token": issued.json()["access_token"],
                "action": "read",
                "resource": rs.resource.slug,
            },
            auth=(rs.client_id, rs.secret),
            timeout=30,
        )
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "temporarily_unavailable"
