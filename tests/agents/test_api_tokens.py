"""Personal API tokens: issued once, stored as a digest, one error for every way of failing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import ApiToken
from agents.services import api_token_create, api_token_revoke
from audit.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db
FAILURE = {"detail": "Invalid or expired API token."}


@pytest.fixture
def member():
    return f.team_member(f.TeamFactory(slug="team-t"), username="tess")


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_valid_token_authenticates_and_marks_last_use(member):
    token, raw = api_token_create(user=member, name="ci")
    assert raw.startswith(f"gvp_{token.key}_") and len(raw) == 4 + 16 + 1 + 43
    assert raw.split("_", 2)[2] not in token.digest  # only the digest is stored
    response = bearer(raw).get("/api/v1/teams/")
    assert response.status_code == 200
    assert [t["slug"] for t in response.json()["results"]] == ["team-t"]
    token.refresh_from_db()
    assert token.last_used_at is not None


def _tampered(raw: str) -> str:
    return raw[:-1] + ("A" if raw[-1] != "A" else "B")


@pytest.mark.parametrize(
    "case", ["wrong_secret", "unknown_key", "revoked", "expired", "deactivated", "malformed"]
)
def test_every_failure_is_the_same_401(member, case):
    token, raw = api_token_create(user=member, name="ci")
    if case == "wrong_secret":
        raw = _tampered(raw)
    elif case == "unknown_key":
        raw = "gvp_" + "0" * 16 + raw[20:]
    elif case == "revoked":
        api_token_revoke(token=token)
    elif case == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(1))
    elif case == "deactivated":
        member.is_active = False
        member.save()
    elif case == "malformed":
        raw = "gvp_short"
    response = bearer(raw).get("/api/v1/agents/")
    assert response.status_code == 401
    assert response.json() == FAILURE
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_bearer_value_that_is_not_ours_is_left_to_others(member):
    """A JWT is not our business: the class returns None and the request is just anonymous."""
    jwt_like = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    response = bearer(jwt_like).get("/api/v1/agents/")
    assert response.status_code == 401
    assert response.json() != FAILURE  # "not provided", not our "invalid token"


def test_tokens_through_the_api_are_ones_own(member):
    client = APIClient()
    client.force_login(member)
    created = client.post("/api/v1/tokens/", {"name": "deploy"}, format="json")
    assert created.status_code == 201
    assert "no-store" in created["Cache-Control"]
    raw = created.json()["token"]
    listed = client.get("/api/v1/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["deploy"]
    assert "token" not in listed[0] and raw not in str(listed)
    entry = AuditEntry.objects.get(action="api_token.create")
    assert raw not in str(entry.changes) and raw.split("_", 2)[2] not in str(entry.changes)
    # someone else's token is a 404
    other, _ = api_token_create(user=f.UserFactory(), name="theirs")
    assert client.get(f"/api/v1/tokens/{other.pk}/").status_code == 404
    assert client.post(f"/api/v1/tokens/{other.pk}/revoke/").status_code == 404
    # revoke one's own: it stops at once; revoking again is a conflict
    token_id = created.json()["id"]
    assert bearer(raw).get("/api/v1/agents/").status_code == 200
    assert client.post(f"/api/v1/tokens/{token_id}/revoke/").status_code == 200
    assert bearer(raw).get("/api/v1/agents/").status_code == 401
    assert client.post(f"/api/v1/tokens/{token_id}/revoke/").status_code == 409


def test_token_in_the_past_is_refused(member):
    client = APIClient()
    client.force_login(member)
    response = client.post(
        "/api/v1/tokens/",
        {"name": "x", "expires_at": (timezone.now() - dt.timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_token_auth_needs_no_csrf_and_writes(member):
    _, raw = api_token_create(user=member, name="ci")
    response = bearer(raw).post(
        "/api/v1/agents/",
        {"slug": "scripted", "display_name": "S", "purpose": "p", "owner_team": "team-t"},
        format="json",
    )
    assert response.status_code == 201
    assert AuditEntry.objects.get(action="agent.register").actor == "user:tess"
