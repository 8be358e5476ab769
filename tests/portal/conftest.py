"""Fixtures of the portal tests: two teams, their people, agents, scopes and resources."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests import factories as f


@pytest.fixture(autouse=True)
def _clean_cache():
    """Throttle counters and remembered clients live in the cache: start each test clean."""
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def org():
    red = f.TeamFactory(slug="red", name="Red team")
    blue = f.TeamFactory(slug="blue", name="Blue team")
    ledger = f.ResourceFactory(slug="ledger", name="Ledger")
    return {
        "red": red,
        "blue": blue,
        "alice": f.team_member(red, username="alice"),
        "bob": f.team_member(blue, username="bob"),
        "rita": f.security_reviewer(username="rita"),
        "root": f.platform_admin(username="root"),
        "ours": f.AgentFactory(slug="red-bot", display_name="Red bot", owner_team=red),
        "theirs": f.AgentFactory(slug="blue-bot", owner_team=blue),
        "ledger": ledger,
        "wiki": f.ResourceFactory(slug="wiki", name="Wiki"),
        "read": f.ScopeFactory(name="ledger:read", sensitivity="low"),
        "write": f.ScopeFactory(name="ledger:write", sensitivity="low"),
        "pay": f.ScopeFactory(name="payments:initiate", sensitivity="critical"),
    }


@pytest.fixture(scope="session")
def _stray_sessions_ended(django_db_setup, django_db_blocker):
    """At the end of the run, before the test database is dropped: see _end_stray_sessions.

    Not after each browser test: the test body's database connection is not the one a fixture
    sees (Playwright's sync API runs the body in a context of its own), so ending "every other
    session" there ended the body's too, and the next browser test in the same process began
    with a terminated connection (PostgreSQL, without xdist spreading the two apart)."""
    yield
    with django_db_blocker.unblock():
        _end_stray_sessions()


@pytest.fixture
def browser(monkeypatch, _stray_sessions_ended):
    """Headless chromium; ``browser.new_context()`` gives each person their own cookies."""
    from playwright.sync_api import sync_playwright

    from .browser import CHROMIUM, CHROMIUM_ARGS

    # Playwright's sync API runs an event loop in this thread; the ORM calls in the test body
    # are still plain synchronous calls, made before and after the browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser_page(browser):
    from .browser import DESKTOP

    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(15_000)
    return page


def _end_stray_sessions() -> None:
    """End database sessions the live server's request threads left open (PostgreSQL).

    Their threads are gone but the sessions stay idle and would stop pytest from dropping the
    test database at the end of the run. Nothing else uses this worker's test database then.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
