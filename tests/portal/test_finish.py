"""The finish: branded error pages with DEBUG off, the admin's brand, local API docs assets,
the approval queue in words, the audit filters labelled, nothing inline for the CSP."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory

from governance.approvals.models import ApprovalRequest
from governance.approvals.services import approval_request_open
from tests import factories as f

from .conftest import client_for

pytestmark = pytest.mark.django_db

TEMPLATES = Path(django_settings.BASE_DIR) / "templates"


def test_another_teams_agent_is_a_branded_404_with_debug_off(org, settings):
    settings.DEBUG = False
    response = client_for(org["alice"]).get("/portal/agents/blue-bot/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "There is nothing here you may see" in page
    assert "Agent governance" in page and "/static/portal/portal.css" in page
    assert "Django" not in page and "Traceback" not in page and "blue-bot" not in page


def test_a_forbidden_form_is_a_branded_403_with_debug_off(org, settings):
    settings.DEBUG = False
    response = client_for(org["rita"]).get("/portal/agents/red-bot/decommission/")
    assert response.status_code == 403
    assert "You may not do this" in response.content.decode()


def test_the_500_page_is_branded_and_needs_no_database():
    from django.views.defaults import server_error

    response = server_error(RequestFactory().get("/portal/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "/static/portal/portal.css" in page


def test_a_csrf_failure_is_branded(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org["alice"])
    response = client.post("/portal/agents/red-bot/suspend/", {"reason": "x"})
    assert response.status_code == 403
    assert "The form could not be checked" in response.content.decode()


def test_the_admin_is_branded(org):
    page = client_for(org["root"]).get("/admin/").content.decode()
    assert "Agent governance" in page
    assert "Django administration" not in page and "Django site admin" not in page
    assert "/static/portal/admin.css" in page


def test_admin_badges_use_classes_not_inline_styles(org):
    page = client_for(org["root"]).get("/admin/agents/agent/").content.decode()
    assert 'class="gov-badge gov-green"' in page
    assert "style=" not in page.split('id="result_list"')[1].split("</table>")[0]


@pytest.mark.parametrize("url", ["/api/schema/ui/", "/api/schema/redoc/"])
def test_api_docs_load_every_asset_locally(org, url):
    client = client_for(org["root"])
    page = client.get(url).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets
    for asset in assets:
        assert asset.startswith("/"), f"{url} loads {asset} from elsewhere"
        if asset.startswith(django_settings.STATIC_URL):
            assert finders.find(asset.removeprefix(django_settings.STATIC_URL)), asset
        else:
            assert client.get(asset).status_code == 200, asset
    assert "<style" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # no inline script


def test_no_inline_script_style_or_handler_in_the_portal_templates():
    """A strict Content-Security-Policy (no 'unsafe-inline') must not break a portal page."""
    for path in [*TEMPLATES.rglob("*.html")]:
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert "<style" not in text, path
        assert not re.search(r"\son[a-z]+=", text), path
        assert not re.search(r'\sstyle="', text), path


@pytest.fixture
def approval(org):
    return approval_request_open(
        agent=org["ours"],
        resource=org["ledger"],
        connection_id=None,
        action="write",
        cost=Decimal("900.0000"),
        reasons=["trust_below_floor"],
    )


def test_the_approval_queue_reads_as_words(org, approval):
    client = client_for(org["rita"])
    page = client.get("/portal/approvals/").content.decode()
    assert "trust_below_floor" not in page
    assert "The agent&#x27;s trust level is below the floor" in page
    assert "900.00 EUR" in page and "900.0000" not in page
    assert 'href="/portal/agents/red-bot/"' in page
    detail = client.get(f"/portal/approvals/{approval.pk}/").content.decode()
    assert "trust_below_floor" not in detail and "900.00 EUR" in detail
    assert 'href="/portal/agents/red-bot/"' in detail


@pytest.mark.parametrize(
    ("decision", "said"), [("deny", "Request denied."), ("approve", "Request approved.")]
)
def test_the_decision_message_is_a_whole_word(org, approval, decision, said):
    client = client_for(org["rita"])
    response = client.post(
        f"/portal/approvals/{approval.pk}/", {"decision": decision, "reason": "r"}, follow=True
    )
    assert said in response.content.decode()
    assert "denyd" not in response.content.decode()
    assert ApprovalRequest.objects.get(pk=approval.pk).status != "pending"


def test_an_empty_approval_queue_says_what_fills_it(org):
    page = client_for(org["rita"]).get("/portal/approvals/").content.decode()
    assert "No pending requests" in page
    assert "approval_required" in page  # what makes one appear


def test_the_money_filter():
    from governance.portal.templatetags.portal import money

    assert money(Decimal("900.0000")) == "900.00 EUR"
    assert money(Decimal("0.1234")) == "0.1234 EUR"
    assert money(Decimal("1234567.5")) == "1,234,567.50 EUR"
    assert money(None) == "—"


def test_the_audit_filters_are_labelled_in_words_with_date_pickers(org):
    page = client_for(org["alice"]).get("/portal/audit/").content.decode()
    assert "is greater than" not in page and "Created at" not in page
    assert re.search(
        r'type="datetime-local"[^>]*name="since"|name="since"[^>]*type="datetime-local"', page
    )
    assert ">From (UTC)" in page and ">Before (UTC)" in page
    assert "Any outcome" in page and "---------" not in page


def test_the_audit_date_pickers_filter(org):
    f.AgentFactory(slug="red-two", owner_team=org["red"])
    client = client_for(org["rita"])
    every = client.get("/portal/audit/", {"since": "2000-01-01T00:00"})
    assert every.status_code == 200 and every.context["page"].object_list
    none = client.get("/portal/audit/", {"since": "2999-01-01T00:00"})
    assert none.status_code == 200 and not none.context["page"].object_list
    assert "No entries match" in none.content.decode()
