"""Access reviews from outside: the demo organisation over the API and the decision point,
the portal by URL and form post, the CLI; another team's user gets 404 everywhere."""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from agents.models import Agent, Resource, ScopeGrant
from credentials.services import credential_issue
from governance.reviews.models import ReviewItem

from .conftest import client_for

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_the_demo_review_removes_a_scope_and_the_next_decision_is_denied(client):
    call_command("demo_data", stdout=io.StringIO())
    users = get_user_model().objects
    reviewer = client_for(users.get(username="reviewer"))
    opened = reviewer.post("/api/v1/reviews/campaigns", {}, content_type="application/json")
    assert opened.status_code == 201, opened.content
    campaign = opened.json()["id"]

    # The demo's seeded history shows invoices:read in use; ledger:read was never used.
    items = reviewer.get(f"/api/v1/reviews/items?campaign={campaign}&limit=200").json()["results"]
    assert {i["agent"] for i in items} >= {"invoice-reconciler", "month-end-closer"}
    item = next(i for i in items if i["agent"] == "invoice-reconciler")
    lines = reviewer.get(f"/api/v1/reviews/items/{item['id']}").json()["lines"]
    grants = [line for line in lines if line["kind"] == "grant"]
    by_scope = {line["label"]: line for line in grants}
    assert by_scope["ledger:read"]["recommendation"] == "revoke"
    assert "never used" in by_scope["ledger:read"]["reason"]
    assert by_scope["invoices:read"]["recommendation"] != "revoke"

    # The agent uses ledger:read through the real endpoints.
    agent = Agent.objects.get(slug="invoice-reconciler")
    ledger = Resource.objects.get(slug="ledger")
    secret = credential_issue(agent=agent, by="system").secret
    rs_auth = basic(ledger.slug, credential_issue(resource=ledger, by="system").secret)
    token = client.post(
        "/oauth/token", "grant_type=client_credentials", content_type=FORM,
        HTTP_AUTHORIZATION=basic(agent.slug, secret),
    ).json()["access_token"]  # fmt: skip

    def decide():
        return client.post(
            "/api/v1/decisions", {"token": token, "action": "read", "resource": "ledger"},
            content_type="application/json", HTTP_AUTHORIZATION=rs_auth,
        ).json()  # fmt: skip

    assert decide()["decision"] == "allow"

    read = next(line for line in grants if line["label"] == "ledger:read")
    keep = [
        {"line": line["id"], "decision": "keep", "comment": "needed"}
        for line in lines
        if line["id"] != read["id"]
    ]
    body = {"lines": [{"line": read["id"], "decision": "revoke"}, *keep]}
    decided = reviewer.post(
        f"/api/v1/reviews/items/{item['id']}/decide", body, content_type="application/json"
    )
    assert decided.status_code == 200, decided.content
    signed = reviewer.post(f"/api/v1/reviews/items/{item['id']}/sign-off")
    assert signed.status_code == 200, signed.content
    results = {line["label"]: line["result"] for line in signed.json()["lines"]}
    assert results["ledger:read"] == "applied"
    assert not ScopeGrant.objects.filter(agent=agent, scope__name="ledger:read", status="active")

    answer = decide()
    assert answer["decision"] == "deny" and "scope_not_granted" in answer["reasons"]


def open_as(user, **body) -> int:
    response = client_for(user).post(
        "/api/v1/reviews/campaigns", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_another_teams_user_gets_404_by_url_form_post_and_api(org):
    campaign = open_as(org["rita"])
    item = ReviewItem.objects.get(campaign_id=campaign)
    bob = client_for(org["bob"])  # blue team; the item is red's agent
    for url in (f"/portal/reviews/items/{item.pk}/", f"/portal/reviews/campaigns/{campaign}/",
                f"/portal/reviews/campaigns/{campaign}/report/",
                f"/portal/reviews/campaigns/{campaign}/report.csv",
                f"/api/v1/reviews/items/{item.pk}", f"/api/v1/reviews/campaigns/{campaign}",
                f"/api/v1/reviews/campaigns/{campaign}/report",
                f"/api/v1/agents/{item.agent.slug}/evidence"):  # fmt: skip
        assert bob.get(url).status_code == 404, url
    assert bob.post(f"/portal/reviews/items/{item.pk}/", {"intent": "accept"}).status_code == 404
    assert bob.post(f"/portal/reviews/items/{item.pk}/", {"intent": "answer"}).status_code == 404
    for intent in ("sign_off", "save", ""):
        posted = bob.post(f"/portal/reviews/items/{item.pk}/", {"intent": intent})
        assert posted.status_code == 404, intent
    # The campaign's pages answer GET only: a POST is 405 for everyone, as for no campaign.
    for page in ("", "report/"):
        theirs = bob.post(f"/portal/reviews/campaigns/{campaign}/{page}").status_code
        assert theirs == 405 == bob.post(f"/portal/reviews/campaigns/0/{page}").status_code
    for action in ("decide", "answer", "sign-off"):
        body = {"accept_recommendations": True}
        url = f"/api/v1/reviews/items/{item.pk}/{action}"
        response = bob.post(url, body, content_type="application/json")
        assert response.status_code == 404, action
    assert bob.get("/api/v1/reviews/items").json()["count"] == 0
    # Alice (red) sees her agent's item, answers it, and cannot decide it.
    alice = client_for(org["alice"])
    assert alice.get(f"/portal/reviews/items/{item.pk}/").status_code == 200
    posted = alice.post(
        f"/portal/reviews/items/{item.pk}/", {"intent": "answer", "justification": "Ledger close."}
    )
    assert posted.status_code == 302
    assert alice.post(f"/portal/reviews/items/{item.pk}/", {"intent": "accept"}).status_code == 403
    refused = alice.post(f"/api/v1/reviews/items/{item.pk}/sign-off")
    assert refused.status_code == 403
    assert ReviewItem.objects.get(pk=item.pk).owner_answer == "Ledger close."


def test_a_reviewer_cannot_certify_their_own_teams_agent(org):
    campaign = open_as(org["root"])
    item = ReviewItem.objects.get(campaign_id=campaign)
    org["red"].members.add(org["rita"])
    rita = client_for(org["rita"])
    api = rita.post(f"/api/v1/reviews/items/{item.pk}/decide", {"accept_recommendations": True},
                    content_type="application/json")  # fmt: skip
    assert api.status_code == 403 and "separation of duties" in api.json()["detail"]
    assert rita.post(f"/api/v1/reviews/items/{item.pk}/sign-off").status_code == 403
    form = rita.post(f"/portal/reviews/items/{item.pk}/", {"intent": "sign_off"})
    assert form.status_code == 403
    with pytest.raises(CommandError, match="separation of duties"):
        call_command("reviews", "signoff", str(item.pk), "--by", "rita", stdout=io.StringIO())
    assert ReviewItem.objects.get(pk=item.pk).state == "pending"


def test_the_item_page_preselects_decides_with_field_errors_and_signs_off(org):
    campaign = open_as(org["rita"])
    item = ReviewItem.objects.get(campaign_id=campaign)
    rita = client_for(org["rita"])
    page = rita.get(f"/portal/reviews/items/{item.pk}/")
    assert page.status_code == 200
    lines = {line.label.split(" ")[0]: line for line in item.lines.all()}
    write, conn = lines["ledger:write"], lines["ledger"]
    html = page.content.decode()
    assert (
        f'name="decision_{write.pk}" value="revoke" required id="id_decision_{write.pk}_1" checked'
        in html
    )
    # Keeping the unused high grant without a comment: a field error, nothing changed.
    data = {f"decision_{line.pk}": line.recommendation for line in lines.values()}
    data.update(
        {f"reduce_{conn.pk}": ["read"], f"decision_{write.pk}": "keep", "intent": "sign_off"}
    )
    bad = rita.post(f"/portal/reviews/items/{item.pk}/", data)
    assert bad.status_code == 400
    assert "needs a comment" in bad.context["form"].errors[f"comment_{write.pk}"][0]
    assert ReviewItem.objects.get(pk=item.pk).state == "pending"
    data[f"comment_{write.pk}"] = "Posts quarter-end entries."
    done = rita.post(f"/portal/reviews/items/{item.pk}/", data)
    assert done.status_code == 302
    item.refresh_from_db()
    assert item.state == "signed_off"
    assert ScopeGrant.objects.get(pk=org["grants"]["ledger:write"].pk).status == "active"
    assert ScopeGrant.objects.get(pk=org["grants"]["ledger:export"].pk).status == "revoked"
    report = rita.get(f"/portal/reviews/campaigns/{campaign}/report.csv")
    rows = b"".join(report.streaming_content).decode().splitlines()
    assert rows[0].startswith("campaign,item,agent") and len(rows) == 1 + 5
    assert rita.get(f"/portal/reviews/campaigns/{campaign}/report/").status_code == 200
    assert rita.get("/portal/reviews/").status_code == 200


def test_the_item_page_query_count_is_flat(org, django_assert_max_num_queries):
    from tests import factories as f

    def queries_for(grants: int) -> int:
        agent = f.AgentFactory(owner_team=org["blue"])
        for n in range(grants):
            f.ScopeGrantFactory(agent=agent, scope=f.ScopeFactory(name=f"r{n}:read"))
        campaign = open_as(org["rita"], coverage="team", team="blue")
        item = ReviewItem.objects.get(campaign_id=campaign, agent=agent)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        rita = client_for(org["rita"])
        with CaptureQueriesContext(connection) as captured:
            assert rita.get(f"/portal/reviews/items/{item.pk}/").status_code == 200
        return len(captured)

    assert queries_for(3) == queries_for(40)


def test_the_cli(org):
    out = io.StringIO()
    call_command("reviews", "open", "--by", "rita", "--json", stdout=out)
    campaign = json.loads(out.getvalue())["id"]
    item = ReviewItem.objects.get(campaign_id=campaign)
    out = io.StringIO()
    call_command("reviews", "show", str(campaign), "--item", str(item.pk), "--json", stdout=out)
    assert {line["name"] for line in json.loads(out.getvalue())["lines"]} >= {"ledger:write"}
    call_command(
        "reviews", "decide", str(item.pk), "--accept", "--by", "rita", stdout=io.StringIO()
    )
    call_command("reviews", "signoff", str(item.pk), "--by", "rita", stdout=io.StringIO())
    assert ReviewItem.objects.get(pk=item.pk).state == "signed_off"
    out = io.StringIO()
    call_command("reviews", "report", str(campaign), "--csv", stdout=out)
    assert out.getvalue().startswith("campaign,item,agent")
    out = io.StringIO()
    call_command("reviews", "list", "--json", stdout=out)
    assert json.loads(out.getvalue())[0]["state"] == "closed"
    with pytest.raises(CommandError, match="needs --by"):
        call_command("reviews", "signoff", str(item.pk), stdout=io.StringIO())


def test_evidence_on_the_api_the_agent_page_and_the_admin(org):
    rita = client_for(org["rita"])
    ev = rita.get(f"/api/v1/agents/{org['bot'].slug}/evidence").json()
    read = next(g for g in ev["grants"] if g["name"] == "ledger:read")
    assert read["uses_30d"] == 4 and read["last_used_at"]
    assert ev["connections"][0]["uses_90d"] == 4 and ev["credentials"][0]["uses_30d"] == 1
    page = rita.get(f"/portal/agents/{org['bot'].slug}/").content.decode()
    assert 'data-usage="connection:ledger"' in page  # grants and credentials: their own tables
    admin = client_for(org["root"])
    usage = admin.get(f"/admin/reviews/agentusage/{org['bot'].pk}/change/")
    assert usage.status_code == 200 and "ledger:read" in usage.content.decode()
    assert (
        client_for(org["bob"]).get(f"/admin/reviews/agentusage/{org['bot'].pk}/change/").status_code
        == 404
    )
