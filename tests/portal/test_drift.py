"""Observed configurations (drift) in the portal: the agent page's list, one page per
observation with its review form, the reviewers' workbench; the review is the API's service
(same rule, same audit entry); another team's user gets a 404 by URL and by POST; the pages cost
the same number of queries with many observations as with one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.drift import services
from agents.drift.models import ObservedConfiguration
from agents.models import OrganisationPolicy
from audit.models import AuditEntry
from tests import factories as f

from .conftest import client_for

pytestmark = pytest.mark.django_db


def _observe(agent, text: str = "unreviewed build", via: str = "form") -> ObservedConfiguration:
    return services.configuration_observed(agent=agent, digest=f.digest(text), via=via)


def _url(observed: ObservedConfiguration) -> str:
    return f"/portal/agents/{observed.agent.slug}/configurations/{observed.pk}/"


def _reviews(observed: ObservedConfiguration) -> int:
    return AuditEntry.objects.filter(
        action="agent.config_review", target_id=str(observed.pk)
    ).count()


def test_the_agent_page_lists_its_observed_configurations(org):
    observed = _observe(org["ours"], via="assertion")
    _observe(org["theirs"], "blue build")
    alice = client_for(org["alice"]).get("/portal/agents/red-bot/").content.decode()
    row = alice.split(f'data-configuration="{observed.pk}"')[1].split("</tr>")[0]
    assert f'title="{observed.digest}"' in row  # the full digest, on the shortened one
    assert observed.digest[:23] + "…" in row and observed.digest not in row.split('title="')[0]
    assert "assertion" in row and "awaiting review" in row and _url(observed) in row
    assert observed.first_seen_at.strftime("%Y-%m-%d %H:%M") in row
    assert "Review…" not in row  # the owning team does not review its own (default policy)
    assert alice.count("data-configuration=") == 1  # blue-bot's drift is not on red's page
    rita = client_for(org["rita"]).get("/portal/agents/red-bot/").content.decode()
    assert "Review…" in rita.split(f'data-configuration="{observed.pk}"')[1].split("</tr>")[0]


def test_an_agent_without_drift_says_what_would_fill_the_list(org):
    page = client_for(org["alice"]).get("/portal/agents/red-bot/").content.decode()
    assert "Observed configurations" in page and "No drift seen" in page


def test_a_reviewer_reviews_through_the_service_with_errors_on_the_form(org):
    observed = _observe(org["ours"])
    rita = client_for(org["rita"])
    page = rita.get(_url(observed))
    assert page.status_code == 200
    html = page.content.decode()
    assert observed.digest in html and "Mark reviewed" in html
    for bad in ({}, {"reason": "   "}, {"reason": "x" * 2001}):
        refused = rita.post(_url(observed), bad)
        assert refused.status_code == 400, bad
        assert 'class="errorlist' in refused.content.decode()
    assert _reviews(observed) == 0
    done = rita.post(_url(observed), {"reason": "built by CI from tag v1.2"})
    assert done.status_code == 302 and done["Location"] == _url(observed)
    observed.refresh_from_db()
    assert observed.reviewed_by == org["rita"]
    assert observed.review_reason == "built by CI from tag v1.2"
    assert _reviews(observed) == 1  # the service's own audit entry, once
    shown = rita.get(_url(observed)).content.decode()
    assert "Configuration reviewed" in shown and "built by CI from tag v1.2" in shown
    assert "Mark reviewed" not in shown
    again = rita.post(_url(observed), {"reason": "twice"})
    assert again.status_code == 400 and "already reviewed" in again.content.decode()
    assert _reviews(observed) == 1


def test_who_may_not_review_sees_the_page_but_posting_is_403(org):
    observed = _observe(org["ours"])
    insider = f.team_member(org["red"], username="rex")  # a reviewer on the agent's own team
    f.security_reviewer(username="rex")
    for user in (org["alice"], insider):
        client = client_for(user)
        page = client.get(_url(observed))
        assert page.status_code == 200 and "You may not review" in page.content.decode()
        assert client.post(_url(observed), {"reason": "ours"}).status_code == 403
    observed.refresh_from_db()
    assert observed.reviewed_at is None and _reviews(observed) == 0


def test_the_policy_may_let_the_owning_team_review_in_the_portal(org):
    policy = OrganisationPolicy.current()
    policy.config_review_requires_reviewer = False
    policy.save()
    observed = _observe(org["ours"])
    alice = client_for(org["alice"])
    assert "Mark reviewed" in alice.get(_url(observed)).content.decode()
    assert alice.post(_url(observed), {"reason": "our new build"}).status_code == 302
    observed.refresh_from_db()
    assert observed.reviewed_by == org["alice"]


def test_another_team_gets_404_by_url_and_by_post(org):
    observed = _observe(org["ours"])
    bob = client_for(org["bob"])
    assert bob.get(_url(observed)).status_code == 404
    assert bob.post(_url(observed), {"reason": "not mine"}).status_code == 404
    # Another agent's row under an agent one sees is not found either, even for a reviewer.
    theirs = _observe(org["theirs"], "blue build")
    wrong = f"/portal/agents/red-bot/configurations/{theirs.pk}/"
    assert client_for(org["rita"]).get(wrong).status_code == 404
    assert client_for(org["rita"]).post(wrong, {"reason": "x"}).status_code == 404
    assert not ObservedConfiguration.objects.exclude(reviewed_at=None).exists()
    assert f.digest("unreviewed build") not in bob.get("/portal/reviews/").content.decode()


def test_the_workbench_lists_what_awaits_review(org):
    ours, theirs = _observe(org["ours"]), _observe(org["theirs"], "blue build")
    rita = client_for(org["rita"])
    html = rita.get("/portal/reviews/").content.decode()
    assert "Configurations awaiting review" in html
    assert _url(ours) in html and _url(theirs) in html
    alice = client_for(org["alice"]).get("/portal/reviews/").content.decode()
    assert _url(ours) in alice and _url(theirs) not in alice
    rita.post(_url(ours), {"reason": "checked"})
    html = rita.get("/portal/reviews/").content.decode()
    assert _url(ours) not in html and _url(theirs) in html


def test_a_version_reviewed_later_takes_the_row_off_the_queue(org):
    observed = _observe(org["ours"])
    f.AgentVersionFactory(agent=org["ours"], config_digest=observed.digest, reviewed=True)
    page = client_for(org["rita"]).get(_url(observed)).content.decode()
    assert "a reviewed version carries it" in page and "Mark reviewed" not in page
    assert _url(observed) not in client_for(org["rita"]).get("/portal/reviews/").content.decode()


def _queries(user, url: str) -> int:
    client = client_for(user)
    client.get(url)  # warm
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_observations(org):
    first = _observe(org["ours"])
    urls = ["/portal/agents/red-bot/", _url(first), "/portal/reviews/"]
    users = [org["alice"], org["rita"]]
    few = {(u.username, url): _queries(u, url) for u in users for url in urls}
    for i in range(30):
        _observe(org["ours"], f"build {i}")
        _observe(f.AgentFactory(owner_team=org["red"]), f"other {i}")
    many = {(u.username, url): _queries(u, url) for u in users for url in urls}
    assert few == many


def test_the_queue_pages_through_everything_awaiting_review_oldest_first(org):
    """The workbench lists the first 50; the queue has them all, 50 a page, the oldest first,
    only of agents one sees."""
    rows = [_observe(org["ours"], f"build {n}") for n in range(53)]
    theirs = _observe(org["theirs"], "blue build")
    rita, alice = client_for(org["rita"]), client_for(org["alice"])
    workbench = rita.get("/portal/reviews/").content.decode()
    assert "/portal/configurations/" in workbench and "the queue" in workbench
    first = rita.get("/portal/configurations/").content.decode()
    assert first.count("data-configuration=") == 50 and "Page 1 of 2" in first
    assert first.index(_url(rows[0])) < first.index(_url(rows[1]))
    second = rita.get("/portal/configurations/?status=pending&page=2").content.decode()
    assert second.count("data-configuration=") == 4  # 54 in all: 53 red, 1 blue
    for page in ("999", "x", "-1"):  # out of range or not a number: a page, never an error
        assert rita.get(f"/portal/configurations/?page={page}").status_code == 200
    mine = alice.get("/portal/configurations/?page=2").content.decode()
    assert _url(theirs) not in mine and "Page 2 of 2" in mine
    assert _url(theirs) not in alice.get("/portal/configurations/").content.decode()


def test_the_queue_filters_by_status(org):
    waiting, done = _observe(org["ours"]), _observe(org["ours"], "checked build")
    covered = _observe(org["ours"], "released build")
    f.AgentVersionFactory(agent=org["ours"], config_digest=covered.digest, reviewed=True)
    rita = client_for(org["rita"])
    rita.post(_url(done), {"reason": "checked"})
    pending = rita.get("/portal/configurations/").content.decode()
    assert _url(waiting) in pending and _url(done) not in pending and _url(covered) not in pending
    reviewed = rita.get("/portal/configurations/?status=reviewed").content.decode()
    assert _url(done) in reviewed and _url(waiting) not in reviewed and "by rita" in reviewed
    every = rita.get("/portal/configurations/?status=").content.decode()
    assert all(_url(o) in every for o in (waiting, done, covered))
    assert "a reviewed version carries it" in every
    unknown = rita.get("/portal/configurations/?status=bogus").content.decode()
    assert unknown.count("data-configuration=") == 3  # an unknown status shows them all
    empty = client_for(org["bob"]).get("/portal/configurations/").content.decode()
    assert "No configuration awaits a review" in empty
