"""An owner and a reviewer walk the portal in their own browser contexts (issue 12, "Checked by").

The owner registers an agent, asks for its scopes, connects it to a resource, issues a
credential and sees the secret once, and the agent gets a token with it over real HTTP. A
resource server asks the decision point about the agent (real HTTP); the reviewer approves the
approval request that answer opened, in the portal, and the next decision is allowed. The
owner suspends the agent and its next token request fails. Every page on the way passes an
axe-core scan with no serious or critical violation, on both people's screens.

The critical scope is a grant request, which the reviewer approves in the portal. The reviewer
also runs an access review: revokes the critical scope the agent never used and signs off; and
reviews a configuration the agent presented that no reviewed version carried (drift).
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.utils import timezone

from agents.drift.services import configuration_observed
from agents.models import Agent, ScopeGrant, TrustLevel
from audit.models import AuditEntry
from credentials.services import credential_issue
from governance.approvals.models import ApprovalRequest
from governance.grants.models import GrantRequest
from governance.reviews.models import ReviewItem
from tests import factories as f
from trust.recompute import recompute_agents
from trust.services import trust_level_set

from .browser import DESKTOP, PHONE, assert_accessible, sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _token(base: str, client_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )


def _decide(base: str, resource_auth: tuple[str, str], token: str) -> dict:
    response = httpx.post(
        f"{base}/api/v1/decisions",
        json={"token": token, "action": "read", "resource": "ledger"},
        auth=resource_auth,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _held(agent: Agent) -> set[str]:
    return set(
        ScopeGrant.objects.active().filter(agent=agent).values_list("scope__name", flat=True)
    )


def test_owner_and_reviewer_walk_the_portal(live_server, browser):
    base = live_server.url
    red = f.TeamFactory(slug="red", name="Red team")
    alice = f.team_member(red, username="alice")
    rita = f.security_reviewer(username="rita")
    ledger_team = f.TeamFactory(slug="ledger-owners", name="Ledger owners")
    ledger = f.ResourceFactory(slug="ledger", name="Ledger", owner_team=ledger_team)
    f.team_member(ledger_team, username="lena")
    read = f.ScopeFactory(name="ledger:read", sensitivity="low")
    pay = f.ScopeFactory(name="payments:initiate", sensitivity="critical")
    ledger_server = credential_issue(resource=ledger, by=f.platform_admin())

    owner = browser.new_context(viewport=DESKTOP, bypass_csp=True).new_page()
    reviewer = browser.new_context(viewport=DESKTOP, bypass_csp=True).new_page()
    for page in (owner, reviewer):
        page.set_default_timeout(15_000)

    # The owner registers an agent.
    sign_in(owner, base, "alice")
    assert_accessible(owner)  # the dashboard
    owner.goto(f"{base}/portal/new-agent/")
    assert_accessible(owner)
    owner.select_option("#id_owner_team", str(red.pk))
    owner.fill("#id_display_name", "Walk bot")
    owner.fill("#id_slug", "walk-bot")
    owner.fill("#id_purpose", "Reconciles the ledger every night.")
    owner.fill("#id_version_label", "1.0.0")
    owner.fill("#id_config_digest", "sha256:" + "ab" * 32)
    owner.check(f"input[name=requested_scopes][value='{read.pk}']")
    owner.check(f"input[name=requested_scopes][value='{pay.pk}']")
    submit(owner, "main button[type=submit]", f"{base}/portal/agents/walk-bot/")
    assert_accessible(owner)
    agent = Agent.objects.get(slug="walk-bot")
    assert agent.created_by == alice

    # It asks for a low scope (granted at once) and a critical one (a grant request).
    for scope in (read, pay):
        owner.goto(f"{base}/portal/agents/walk-bot/grants/new/")
        assert_accessible(owner)
        owner.select_option("#id_scope", str(scope.pk))
        owner.fill("#id_justification", f"The nightly run needs {scope.name}.")
        if scope.sensitivity == "critical":  # policy: critical grants end within 90 days
            until = timezone.now() + dt.timedelta(days=30)
            owner.fill("#id_expires_at", until.strftime("%Y-%m-%dT%H:%M"))
        submit(owner, "main button[type=submit]", f"{base}/portal/agents/walk-bot/")
    assert _held(agent) == {"ledger:read"}
    asked = GrantRequest.objects.get(agent=agent, scope=pay)

    # The reviewer, in a browser context of her own, approves the critical scope.
    sign_in(reviewer, base, "rita")
    reviewer.goto(f"{base}/portal/grant-requests/")
    assert_accessible(reviewer)
    reviewer.click(f"a[href='/portal/grant-requests/{asked.pk}/']")
    reviewer.wait_for_url(f"{base}/portal/grant-requests/{asked.pk}/")
    assert_accessible(reviewer)
    reviewer.fill("main textarea[name=comment]", "Payments need it for the nightly close.")
    reviewer.click("button[value=approve]")
    reviewer.wait_for_selector(".messages li.success")
    assert_accessible(reviewer)
    assert _held(agent) == {"ledger:read", "payments:initiate"}

    # It connects the agent to the ledger; above PENDING a person approves each action.
    owner.goto(f"{base}/portal/agents/walk-bot/connections/new/")
    assert_accessible(owner)
    owner.select_option("#id_resource", str(ledger.pk))
    owner.fill("#id_allowed_actions", "read")
    owner.select_option("#id_trust_floor", TrustLevel.TRUSTED)
    submit(owner, "main button[type=submit]", f"{base}/portal/agents/walk-bot/")

    # The ledger belongs to another team: its owners consent to the connection first.
    steward = browser.new_context(viewport=DESKTOP, bypass_csp=True).new_page()
    steward.set_default_timeout(15_000)
    sign_in(steward, base, "lena")
    steward.goto(f"{base}/portal/resources/ledger/")
    assert_accessible(steward)
    steward.click("button[name=accept][value='1']")
    steward.wait_for_selector(".messages li.success")
    assert_accessible(steward)

    # A credential: the secret is on the answer to the POST, and nowhere after it.
    owner.goto(f"{base}/portal/agents/walk-bot/credentials/new/")
    assert_accessible(owner)
    owner.check("input[name=kind][value=client_secret]")
    owner.fill("#id_label", "production")
    owner.click("main button[type=submit]")
    owner.wait_for_selector("#secret")
    assert_accessible(owner)
    secret = owner.input_value("#secret")
    assert secret.startswith("agcs_")
    owner.goto(f"{base}/portal/agents/walk-bot/")
    assert secret not in owner.content()
    assert owner.locator("#secret").count() == 0

    # A registered agent is UNTRUSTED (quarantined: no token); the reviewer pins it at
    # PENDING, below the connection's TRUSTED floor, so the decision point will ask a person.
    trust_level_set(agent=agent, score=55, level=TrustLevel.PENDING, reason="walk", by=rita)
    recompute_agents([agent.pk])  # what the beat (or the change's own task) does

    # The agent gets a token with it, over HTTP.
    issued = _token(base, "walk-bot", secret)
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    assert set(issued.json()["scope"].split()) == {"ledger:read", "payments:initiate"}

    resource_auth = (ledger_server.client_id, ledger_server.secret or "")
    first = _decide(base, resource_auth, token)
    assert first["decision"] == "approval_required", first
    approval = ApprovalRequest.objects.get(pk=first["approval"]["id"])

    # The reviewer approves it in the portal.
    reviewer.goto(f"{base}/portal/approvals/")
    assert_accessible(reviewer)
    reviewer.click(f"a[href='/portal/approvals/{approval.pk}/']")
    reviewer.wait_for_url(f"{base}/portal/approvals/{approval.pk}/")
    assert_accessible(reviewer)
    reviewer.click("button[value=approve]")
    reviewer.wait_for_selector(".messages li.success")
    assert_accessible(reviewer)
    approval.refresh_from_db()
    assert approval.status == "approved"
    assert _decide(base, resource_auth, token)["decision"] == "allow"

    # An access review: the reviewer opens a campaign for the team, revokes the critical
    # scope the agent never used, keeps the rest and signs off; the revocation applies.
    reviewer.goto(f"{base}/portal/reviews/")
    assert_accessible(reviewer)
    reviewer.goto(f"{base}/portal/reviews/new/")
    assert_accessible(reviewer)
    reviewer.select_option("#id_coverage", "team")
    reviewer.select_option("#id_team", str(red.pk))
    reviewer.click("main button[type=submit]")
    reviewer.wait_for_selector(".messages li.success")
    assert_accessible(reviewer)  # the campaign
    item = ReviewItem.objects.get(agent=agent, campaign__coverage="team")
    reviewer.goto(f"{base}/portal/reviews/items/{item.pk}/")
    assert_accessible(reviewer)
    # Usage is folded from the audit log by a beat task that has not run here, so every line
    # reads as unused: keep all but the critical scope.
    for row in reviewer.locator("tr[data-line]").all():
        if row.get_attribute("data-line") != "payments:initiate":
            row.locator("input[type=radio][value=keep]").check()
    unused = reviewer.locator("tr[data-line='payments:initiate']")
    unused.locator("input[type=radio][value=revoke]").check()
    unused.locator("textarea, input[type=text]").first.fill("never used since it was granted")
    reviewer.click("button[value=sign_off]")
    reviewer.wait_for_selector(".messages li.success")
    assert_accessible(reviewer)
    assert _held(agent) == {"ledger:read"}

    # The agent presented a configuration no reviewed version carries (drift): the reviewer
    # finds it on her workbench and reviews it on its page.
    drift = configuration_observed(agent=agent, digest=f.digest("walk drift"), via="form")
    reviewer.goto(f"{base}/portal/reviews/")
    assert_accessible(reviewer)  # the workbench, with its drift
    reviewer.click("a[href='/portal/configurations/?status=']")
    assert_accessible(reviewer)  # the queue of every observed configuration
    reviewer.click(f"a[href='/portal/agents/walk-bot/configurations/{drift.pk}/']")
    assert_accessible(reviewer)
    reviewer.fill("main textarea[name=reason]", "built by CI from the tagged release")
    reviewer.click("button:has-text('Mark reviewed')")
    reviewer.wait_for_selector(".messages li.success")
    drift.refresh_from_db()
    assert drift.reviewed_by == rita

    # The reviewer reads the agent's Trust card: the pin she set, and why the score is what
    # it is, in words; and the agent's observed configurations.
    reviewer.goto(f"{base}/portal/agents/walk-bot/")
    assert_accessible(reviewer)
    assert reviewer.locator(f"tr[data-configuration='{drift.pk}']").count() == 1
    trust = reviewer.locator("section[aria-labelledby=h-trust]")
    assert trust.locator(".pin .badge.trust-pending").count() == 1
    assert trust.locator("#h-trust-breakdown").count() == 1
    assert trust.locator("ul.factors li").count() > 0

    # The owner suspends the agent; its next token request fails.
    owner.goto(f"{base}/portal/agents/walk-bot/suspend/")
    assert_accessible(owner)
    owner.fill("textarea[name=reason]", "the walk is over")
    owner.click("button:has-text('Suspend')")
    owner.wait_for_selector(".messages li.success")
    refused = _token(base, "walk-bot", secret)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert AuditEntry.objects.filter(
        action="client.authenticate", reason="agent_suspended"
    ).exists()

    # The lists, the audit search and the inbox, for both; and on a phone.
    for page in (owner, reviewer):
        for path in ("/portal/agents/", "/portal/audit/", "/portal/notices/"):
            page.goto(f"{base}{path}")
            assert_accessible(page)
    reviewer.set_viewport_size(PHONE)
    for path in ("/portal/", "/portal/agents/walk-bot/", "/portal/approvals/"):
        reviewer.goto(f"{base}{path}")
        assert_accessible(reviewer)
