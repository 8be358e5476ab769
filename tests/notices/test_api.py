"""The notices API from outside: my notices only; another person's are 404 to read and mark."""

from __future__ import annotations

import httpx
import pytest
from rest_framework.test import APIClient

from agents import services as registry
from agents.notices import services
from agents.notices.models import NoticeKind, NoticeRead

pytestmark = pytest.mark.django_db


@pytest.fixture
def notices(people):
    red = services.notify(
        kind=NoticeKind.ROTATION_DUE, subject="Rotate red", body="b", team=people["red"]
    )
    blue = services.notify(
        kind=NoticeKind.ROTATION_DUE, subject="Rotate blue", body="b", team=people["blue"]
    )
    for_bob = services.notify(
        kind=NoticeKind.APPROVAL_WAITING, subject="For Bob", body="b", user=people["bob"]
    )
    return {"red": red, "blue": blue, "bob": for_bob}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_anonymous_gets_nothing():
    client = APIClient()
    assert client.get("/api/v1/notices/").status_code in (401, 403)
    assert client.post("/api/v1/notices/read-all/").status_code in (401, 403)


def test_i_list_only_my_notices_paginated(people, notices):
    got = client_for(people["bob"]).get("/api/v1/notices/", {"limit": 1})
    assert got.status_code == 200
    body = got.json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]
    everything = client_for(people["bob"]).get("/api/v1/notices/").json()["results"]
    assert {n["subject"] for n in everything} == {"Rotate blue", "For Bob"}
    assert {n["recipient"] for n in everything} == {"team:blue", "user:bob"}
    assert all(n["is_read"] is False for n in everything)
    # Reviewers and admins see everything elsewhere, but an inbox is one's own.
    for role in ("rita", "root"):
        assert client_for(people[role]).get("/api/v1/notices/").json()["count"] == 0


@pytest.mark.parametrize("role", ["alice", "rita", "root"])
def test_another_persons_notice_is_404_to_read_and_to_mark(people, notices, role):
    client = client_for(people[role])
    for notice in (notices["blue"], notices["bob"]):
        assert client.get(f"/api/v1/notices/{notice.pk}/").status_code == 404
        assert client.post(f"/api/v1/notices/{notice.pk}/read/").status_code == 404
    client.post("/api/v1/notices/read-all/")
    assert not NoticeRead.objects.filter(notice__in=[notices["blue"], notices["bob"]]).exists()


def test_mark_read_and_unread_count_and_filter(people, notices):
    alice = client_for(people["alice"])
    assert alice.get("/api/v1/notices/unread-count/").json() == {"unread": 1}
    marked = alice.post(f"/api/v1/notices/{notices['red'].pk}/read/")
    assert marked.status_code == 200 and marked.json()["is_read"] is True
    assert alice.get("/api/v1/notices/unread-count/").json() == {"unread": 0}
    assert alice.get("/api/v1/notices/", {"is_read": "false"}).json()["count"] == 0
    # Carol, on the same team, still has it unread: read state is per person.
    carol = client_for(people["carol"])
    assert carol.get("/api/v1/notices/", {"is_read": "false"}).json()["count"] == 1
    assert carol.post("/api/v1/notices/read-all/").json() == {"marked": 1}
    assert carol.get("/api/v1/notices/unread-count/").json() == {"unread": 0}


def test_bad_paging_is_a_400(people, notices):
    got = client_for(people["bob"]).get("/api/v1/notices/", {"limit": "x"})
    assert got.status_code == 400 and "limit" in got.json()


def test_in_the_openapi_schema():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/notices/",
        "/api/v1/notices/{id}/",
        "/api/v1/notices/{id}/read/",
        "/api/v1/notices/read-all/",
        "/api/v1/notices/unread-count/",
    ):
        assert path in paths, path


@pytest.mark.django_db(transaction=True)
def test_over_real_http_with_a_personal_token(live_server, people, notices):
    """Bob's script, with his own API token, cannot read or mark Alice's team's notice."""
    _, token = registry.api_token_create(user=people["bob"], name="script", by=people["bob"])
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server.url, headers=headers) as http:
        assert http.get(f"/api/v1/notices/{notices['red'].pk}/").status_code == 404
        assert http.post(f"/api/v1/notices/{notices['red'].pk}/read/").status_code == 404
        mine = http.post(f"/api/v1/notices/{notices['bob'].pk}/read/")
        assert mine.status_code == 200 and mine.json()["is_read"] is True
        assert http.get("/api/v1/notices/unread-count/").json() == {"unread": 1}
    assert not NoticeRead.objects.filter(notice=notices["red"]).exists()
