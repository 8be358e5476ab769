"""A person in a real browser: sign in, see the agents list, suspend an agent.

Playwright drives Debian's chromium (``/usr/bin/chromium``; no browser download) against a live
server on the test database.
"""

from __future__ import annotations

import pytest

from agents.models import Agent
from audit.models import AuditEntry
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls in the test body
    # are still plain synchronous calls, made before and after the browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            browser.close()
    _end_stray_sessions()


def _end_stray_sessions() -> None:
    """End database sessions the live server's request threads left open (PostgreSQL).

    Their threads are gone but the sessions stay idle and would stop pytest from dropping the
    test database at the end of the run. Nothing else uses this worker's test database now.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_sign_in_list_and_suspend(live_server, browser_page):
    team = f.TeamFactory(slug="finance-ops", name="Finance operations")
    f.team_member(team, username="alice")
    f.AgentFactory(slug="invoice-reconciler", display_name="Invoice reconciler", owner_team=team)
    f.AgentFactory(slug="payment-scheduler", display_name="Payment scheduler", owner_team=team)
    f.AgentFactory(slug="other-teams-bot")  # another team's: must not show
    page = browser_page

    page.goto(f"{live_server.url}/portal/agents/")
    assert "/portal/login/" in page.url  # anonymous goes to sign-in
    page.fill("#id_username", "alice")
    page.fill("#id_password", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/agents/")

    rows = page.locator("tr[data-agent]")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.agent)")) == [
        "invoice-reconciler",
        "payment-scheduler",
    ]
    assert page.locator(".topbar nav a", has_text="Approvals").count() == 1

    page.click("text=Invoice reconciler")
    page.wait_for_url(f"{live_server.url}/portal/agents/invoice-reconciler/")
    page.click("a:has-text('Suspend')")
    page.wait_for_url(f"{live_server.url}/portal/agents/invoice-reconciler/suspend/")
    page.fill("textarea[name=reason]", "unexpected traffic at night")
    page.click("button:has-text('Suspend')")
    page.wait_for_selector(".messages li.success")
    assert "Agent invoice-reconciler suspended." in page.inner_text(".messages")
    assert page.locator(".agent-head .badge.status-suspended").count() == 1
    assert page.locator("a:has-text('Reactivate')").count() == 1

    assert Agent.objects.get(slug="invoice-reconciler").status == Agent.Status.SUSPENDED
    entry = AuditEntry.objects.get(action="agent.suspend")
    assert (entry.actor, entry.reason) == ("user:alice", "unexpected traffic at night")
