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
