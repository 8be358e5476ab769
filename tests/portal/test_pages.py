"""The portal shell: sign-in, dashboard, agents list and detail, the lifecycle confirmations."""

from __future__ import annotations

import pytest
from django.test import Client

from agents.models import Agent
from audit.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def org():
    red, blue = f.TeamFactory(slug="red", name="Red team"), f.TeamFactory(slug="blue")
    return {
        "red": red,
        "alice": f.team_member(red, username="alice"),
        "rita": f.security_reviewer(username="rita"),
        "ours": f.AgentFactory(slug="red-bot", owner_team=red),
        "theirs": f.AgentFactory(slug="blue-bot", owner_team=blue),
    }


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_login_page_has_csrf_and_signs_in():
    f.team_member(f.TeamFactory(), username="alice")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/portal/login/")
    assert page.status_code == 200
    assert b"csrfmiddlewaretoken" in page.content
    token = page.cookies["csrftoken"].value
    bad = client.post(
        "/portal/login/", {"username": "alice", "password": "nope", "csrfmiddlewaretoken": token}
    )
    assert bad.status_code == 200
    assert b"did not match" in bad.content
    good = client.post(
        "/portal/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert good.status_code == 302
    assert good["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_login_without_csrf_token_is_refused():
    f.team_member(f.TeamFactory(), username="alice")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/portal/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.parametrize("url", ["/portal/", "/portal/agents/", "/portal/agents/red-bot/"])
def test_anonymous_is_sent_to_login(org, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/?next=")


def test_dashboard_counts_only_own_teams_agents(org):
    f.AgentFactory(owner_team=org["red"], status=Agent.Status.SUSPENDED)
    response = client_for(org["alice"]).get("/portal/")
    assert response.status_code == 200
    assert response.context["counts"]["total"] == 2
    assert response.context["counts"]["status_suspended"] == 1
    assert b"red-bot" in response.content
    assert b"blue-bot" not in response.content
    # The nav reaches the pages the other parts build.
    for link in (b'href="/portal/agents/"', b'href="/portal/approvals/"', b'href="/portal/audit/"'):
        assert link in response.content


def test_agent_list_shows_own_team_only_and_filters(org):
    client = client_for(org["alice"])
    page = client.get("/portal/agents/")
    slugs = [a.slug for a in page.context["page"].object_list]
    assert slugs == ["red-bot"]
    assert not client.get("/portal/agents/?q=nothing-like-it").context["page"].object_list
    # A bad filter value is ignored, never a 500; the good ones still apply.
    assert client.get("/portal/agents/?status=bogus&owner_team=zzz&page=x").status_code == 200
    bad_and_good = client.get("/portal/agents/?status=bogus&q=nothing-like-it")
    assert not bad_and_good.context["page"].object_list


def test_the_portal_and_the_api_filter_agents_alike(org):
    """One FilterSet (agents/filters.py) behind both: the same query, the same agents; the API
    refuses a bad value (400) where the portal drops only that filter."""
    f.AgentFactory(slug="red-quiet", owner_team=org["red"], status=Agent.Status.SUSPENDED)
    client = client_for(org["rita"])
    for query in ("status=suspended", "q=red", "owner_team=red", "trust_level=untrusted&q=bot"):
        portal = [a.slug for a in client.get(f"/portal/agents/?{query}").context["page"]]
        api = [a["slug"] for a in client.get(f"/api/v1/agents/?{query}").json()["results"]]
        assert portal == sorted(api), query
    assert [a.slug for a in client.get("/portal/agents/?status=suspended").context["page"]] == [
        "red-quiet"
    ]
    assert client.get("/api/v1/agents/?trust_level=bogus").status_code == 400
    kept = client.get("/portal/agents/?trust_level=bogus&status=suspended").context["page"]
    assert [a.slug for a in kept] == ["red-quiet"]
    # People pick a team from the teams they may see, and only those.
    alice_page = client_for(org["alice"]).get("/portal/agents/").content
    assert b'<option value="red">Red team</option>' in alice_page
    assert b'value="blue"' not in alice_page


def test_reviewer_sees_every_agent(org):
    slugs = [a.slug for a in client_for(org["rita"]).get("/portal/agents/").context["page"]]
    assert slugs == ["blue-bot", "red-bot"]


def test_other_teams_agent_is_404_on_every_page(org):
    client = client_for(org["alice"])
    assert client.get("/portal/agents/blue-bot/").status_code == 404
    assert client.get("/portal/agents/blue-bot/suspend/").status_code == 404
    assert client.post("/portal/agents/blue-bot/suspend/", {"reason": "x"}).status_code == 404
    assert Agent.objects.get(slug="blue-bot").status == Agent.Status.ACTIVE


def test_detail_links_the_steps_allowed_by_state(org):
    response = client_for(org["alice"]).get("/portal/agents/red-bot/")
    assert response.status_code == 200
    assert [name for name, _ in response.context["steps"]] == ["suspend", "decommission"]
    assert b'href="/portal/agents/red-bot/suspend/"' in response.content
    assert b"onclick" not in response.content  # no inline script: the CSP forbids it


def test_suspend_asks_for_confirmation_and_a_reason(org):
    client = client_for(org["alice"])
    page = client.get("/portal/agents/red-bot/suspend/")
    assert page.status_code == 200
    assert b"very next token request" in page.content  # it says what will happen
    assert Agent.objects.get(slug="red-bot").status == Agent.Status.ACTIVE  # a GET changes nothing
    before = AuditEntry.objects.count()
    for reason in ("", "   ", "x" * 501):
        refused = client.post("/portal/agents/red-bot/suspend/", {"reason": reason})
        assert refused.status_code == 400
        assert refused.context["form"].errors["reason"]
    assert Agent.objects.get(slug="red-bot").status == Agent.Status.ACTIVE
    assert AuditEntry.objects.count() == before


def test_suspend_and_reactivate_with_reasons_are_audited(org):
    client = client_for(org["alice"])
    response = client.post("/portal/agents/red-bot/suspend/", {"reason": "odd traffic"})
    assert response.status_code == 302
    assert Agent.objects.get(slug="red-bot").status == Agent.Status.SUSPENDED
    entry = AuditEntry.objects.get(action="agent.suspend")
    assert (entry.actor, entry.reason, entry.resource) == (
        "user:alice",
        "odd traffic",
        "agent:red-bot",
    )
    page = client.get(response["Location"])
    assert b"Agent red-bot suspended." in page.content
    assert [name for name, _ in page.context["steps"]] == ["reactivate", "decommission"]
    assert b"suspended it: odd traffic." in page.content  # the history, in a sentence
    client.post("/portal/agents/red-bot/reactivate/", {"reason": "traffic explained"})
    assert Agent.objects.get(slug="red-bot").status == Agent.Status.ACTIVE
    assert AuditEntry.objects.get(action="agent.reactivate").reason == "traffic explained"


def test_decommission_needs_the_box_ticked(org):
    client = client_for(org["alice"])
    refused = client.post("/portal/agents/red-bot/decommission/", {"reason": "retired"})
    assert refused.status_code == 400
    assert "understood" in refused.context["form"].errors
    assert Agent.objects.get(slug="red-bot").status == Agent.Status.ACTIVE
    done = client.post(
        "/portal/agents/red-bot/decommission/", {"reason": "retired", "understood": "on"}
    )
    assert done.status_code == 302
    assert Agent.objects.get(slug="red-bot").status == Agent.Status.DECOMMISSIONED


def test_invalid_transition_is_a_form_error_and_changes_nothing(org):
    client = client_for(org["alice"])
    before = AuditEntry.objects.count()
    response = client.post("/portal/agents/red-bot/reactivate/", {"reason": "again"})
    assert response.status_code == 400
    assert b"Cannot reactivate agent red-bot: it is active." in response.content
    assert Agent.objects.get(slug="red-bot").status == Agent.Status.ACTIVE
    assert AuditEntry.objects.count() == before


def test_reviewer_may_suspend_but_not_decommission(org):
    client = client_for(org["rita"])
    assert client.get("/portal/agents/blue-bot/decommission/").status_code == 403
    forbidden = client.post(
        "/portal/agents/blue-bot/decommission/", {"reason": "r", "understood": "on"}
    )
    assert forbidden.status_code == 403
    assert b"You may not" in forbidden.content  # the branded page, not a bare text
    assert Agent.objects.get(slug="blue-bot").status == Agent.Status.ACTIVE
    assert client.post("/portal/agents/blue-bot/suspend/", {"reason": "r"}).status_code == 302
    assert Agent.objects.get(slug="blue-bot").status == Agent.Status.SUSPENDED


def test_lifecycle_needs_a_known_action(org):
    client = client_for(org["alice"])
    assert client.post("/portal/agents/red-bot/delete/", {"reason": "x"}).status_code == 404
    assert client.put("/portal/agents/red-bot/suspend/").status_code == 405


def test_lifecycle_post_needs_csrf(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org["alice"])
    refused = client.post("/portal/agents/red-bot/suspend/", {"reason": "x"})
    assert refused.status_code == 403
    assert b"The form could not be checked" in refused.content  # branded CSRF page
    assert Agent.objects.get(slug="red-bot").status == Agent.Status.ACTIVE


def test_logout_is_a_post(org):
    client = client_for(org["alice"])
    assert client.post("/portal/logout/").status_code == 302
    assert client.get("/portal/").status_code == 302


def test_agent_list_paginates_keeping_the_filters(org):
    for n in range(55):
        f.AgentFactory(slug=f"bulk-{n:02d}", owner_team=org["red"])
    client = client_for(org["alice"])
    first = client.get("/portal/agents/?q=bulk")
    assert len(first.context["page"].object_list) == 50
    assert b"?q=bulk&amp;page=2" in first.content
    second = client.get("/portal/agents/?q=bulk&page=2")
    assert [a.slug for a in second.context["page"].object_list] == [
        f"bulk-{n:02d}" for n in range(50, 55)
    ]


@pytest.mark.parametrize("who", ["alice", "rita"])
def test_every_nav_link_answers(org, who):
    import re

    client = client_for(org[who])
    page = client.get("/portal/").content.decode()
    nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
    links = re.findall(r'href="([^"]+)"', nav)
    assert {"/portal/", "/portal/agents/", "/portal/approvals/", "/portal/audit/"} <= set(links)
    for link in links:
        assert client.get(link).status_code == 200, link


def test_every_dashboard_count_links_to_the_agents_it_counts(org):
    import re

    f.AgentFactory(owner_team=org["red"], status=Agent.Status.SUSPENDED, trust_level="pending")
    client = client_for(org["alice"])
    page = client.get("/portal/").content.decode()
    stats = re.findall(r'class="stat[^"]*" href="([^"]+)"><strong>(\d+)</strong>', page)
    assert len(stats) == 7
    for link, count in stats:
        listed = client.get(link.replace("&amp;", "&")).context["page"].paginator.count
        assert listed == int(count), link
