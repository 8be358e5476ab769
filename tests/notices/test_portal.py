"""The portal's inbox and the header's unread count; another person's notice is a 404."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from agents.notices import services
from agents.notices.models import Notice, NoticeKind, NoticeRead

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _raise(people, team="red", n=1, link="/portal/agents/"):
    return [
        services.notify(
            kind=NoticeKind.TRUST_LEVEL_CHANGED,
            subject=f"Level changed {i}",
            body="red-bot is now pending.",
            team=people[team],
            link=link,
        )
        for i in range(n)
    ]


def test_the_header_shows_my_unread_count(people):
    _raise(people, n=3)
    page = client_for(people["alice"]).get("/portal/agents/")
    assert page.status_code == 200
    assert b'aria-label="3 unread"' in page.content
    assert b"unread" not in client_for(people["bob"]).get("/portal/agents/").content


def test_the_header_count_costs_one_query_however_many_notices(people):
    alice = client_for(people["alice"])
    _raise(people, n=1)
    alice.get("/portal/")  # warm the session and the content types
    with CaptureQueriesContext(connection) as one:
        alice.get("/portal/")
    _raise(people, n=30)
    with CaptureQueriesContext(connection) as many:
        page = alice.get("/portal/")
    assert b'aria-label="31 unread"' in page.content
    assert len(many.captured_queries) == len(one.captured_queries)
    counts = [q for q in many.captured_queries if "agents_notice" in q["sql"]]
    assert len(counts) == 1


def test_inbox_lists_mine_and_marks_read(people):
    mine = _raise(people, n=2)
    theirs = _raise(people, team="blue")[0]
    alice = client_for(people["alice"])
    page = alice.get("/portal/notices/")
    assert page.status_code == 200
    assert page.content.count(b'class="notice unread"') == 2
    assert b"Level changed 0" in page.content and f'data-notice="{theirs.pk}"' not in page.text
    done = alice.post(f"/portal/notices/{mine[0].pk}/read/")
    assert done.status_code == 302 and done["Location"] == "/portal/notices/"
    assert alice.get("/portal/notices/?unread=1").content.count(b'class="notice unread"') == 1
    opened = alice.post(f"/portal/notices/{mine[1].pk}/read/", {"open": "1"})
    assert opened["Location"] == "/portal/agents/"
    empty = alice.get("/portal/notices/?unread=1")
    assert b"Nothing unread" in empty.content


def test_mark_all_read(people):
    _raise(people, n=3)
    carol = client_for(people["carol"])
    assert carol.post("/portal/notices/read-all/", follow=True).status_code == 200
    assert NoticeRead.objects.filter(user=people["carol"]).count() == 3
    assert not NoticeRead.objects.filter(user=people["alice"]).exists()


@pytest.mark.parametrize("role", ["bob", "rita", "root"])
def test_another_persons_notice_is_404_by_post(people, role):
    notice = _raise(people)[0]
    got = client_for(people[role]).post(f"/portal/notices/{notice.pk}/read/")
    assert got.status_code == 404
    assert b"There is nothing here you may see" in got.content
    assert not NoticeRead.objects.exists()


def test_get_on_the_mark_routes_changes_nothing(people):
    notice = _raise(people)[0]
    alice = client_for(people["alice"])
    assert alice.get(f"/portal/notices/{notice.pk}/read/").status_code == 405
    assert alice.get("/portal/notices/read-all/").status_code == 405
    assert not NoticeRead.objects.exists()


def test_anonymous_is_sent_to_sign_in(people):
    got = Client().get("/portal/notices/")
    assert got.status_code == 302 and got["Location"].startswith("/portal/login/")


def test_empty_inbox_says_what_fills_it(people):
    page = client_for(people["alice"]).get("/portal/notices/")
    assert b"No notices yet" in page.content


def test_admin_lists_are_read_only_and_scoped(people):
    _raise(people)
    _raise(people, team="blue")
    root = client_for(people["root"])
    listing = root.get("/admin/agents/notice/")
    assert listing.status_code == 200 and listing.content.count(b"Level changed 0") == 2
    assert root.get("/admin/agents/notice/add/").status_code == 403
    assert root.get("/admin/agents/outboxmessage/").status_code == 200
    notice = Notice.objects.filter(team=people["blue"]).get()
    alice = client_for(people["alice"])
    assert alice.get("/admin/agents/notice/").content.count(b"Level changed 0") == 1
    assert alice.get(f"/admin/agents/notice/{notice.pk}/change/").status_code in (302, 404)
    assert alice.get("/admin/agents/outboxmessage/").status_code == 403
