"""Drift's API, admin action and CLI, each through the one review service."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.test import APIClient

from agents.drift import services
from agents.drift.models import ObservedConfiguration

from .conftest import UNKNOWN

pytestmark = pytest.mark.django_db


@pytest.fixture
def drifted(org):
    return {
        "ours": services.configuration_observed(agent=org["bot"], digest=UNKNOWN, via="form"),
        "theirs": services.configuration_observed(
            agent=org["theirs"], digest=UNKNOWN, via="assertion"
        ),
    }


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_api_lists_what_you_may_see(org, drifted):
    mine = api(org["alice"]).get("/api/v1/observed-configurations/").json()
    assert [r["agent"] for r in mine["results"]] == ["red-bot"]
    everything = api(org["rita"]).get("/api/v1/observed-configurations/", {"reviewed": "false"})
    assert everything.json()["count"] == 2
    one = api(org["rita"]).get("/api/v1/observed-configurations/", {"agent": "blue-bot"}).json()
    assert [r["seen_via"] for r in one["results"]] == ["assertion"]
    assert APIClient().get("/api/v1/observed-configurations/").status_code in (401, 403)


def test_api_review_matrix(org, drifted):
    url = f"/api/v1/observed-configurations/{drifted['ours'].pk}/review/"
    body = {"reason": "checked"}
    assert api(org["bob"]).post(url, body).status_code == 404  # another team's: absent
    assert api(org["alice"]).post(url, body).status_code == 403  # own team: policy says no
    assert api(org["rex"]).post(url, body).status_code == 403  # reviewer inside the team
    assert api(org["rita"]).post(url, {}).status_code == 400  # no reason
    done = api(org["rita"]).post(url, body)
    assert done.status_code == 200
    assert done.json()["reviewed_by"] == "rita" and done.json()["review_reason"] == "checked"
    assert api(org["root"]).post(url, body).status_code == 409


def test_in_the_schema():
    paths = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert "/api/v1/observed-configurations/{id}/review/" in paths.json()["paths"]


def test_admin_action_reviews_where_allowed(org, drifted):
    ours = drifted["ours"]
    rita = Client()
    rita.force_login(org["rita"])
    changelist = "/admin/agents/observedconfiguration/"
    assert rita.get(changelist).status_code == 200
    rita.post(
        changelist,
        {"action": "review", "_selected_action": [ours.pk], "reason": "image signed by CI"},
    )
    ours.refresh_from_db()
    assert ours.reviewed_by == org["rita"] and ours.review_reason == "image signed by CI"
    # The owning team sees the row but has no review action.
    alice = Client()
    alice.force_login(org["alice"])
    page = alice.get(changelist)
    assert page.status_code == 200 and b'value="review"' not in page.content
    theirs = drifted["theirs"]
    alice.post(changelist, {"action": "review", "_selected_action": [theirs.pk], "reason": "x"})
    theirs.refresh_from_db()
    assert theirs.reviewed_at is None


def test_cli_lists_and_reviews(org, drifted, capsys):
    call_command("agents", "configs", "red-bot", "--unreviewed", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert [r["digest"] for r in rows] == [UNKNOWN]
    with pytest.raises(CommandError):
        call_command(
            "agents", "review-config", "red-bot", UNKNOWN, "--reason", "x", "--by", "alice"
        )
    call_command(
        "agents",
        "review-config",
        "red-bot",
        UNKNOWN,
        "--reason",
        "audited",
        "--by",
        "rita",
        "--json",
    )
    (row,) = json.loads(capsys.readouterr().out)
    assert row["reviewed_by"] == "rita"
    with pytest.raises(CommandError):
        call_command("agents", "review-config", "red-bot", "sha256:" + "f" * 64, "--reason", "x")
    assert ObservedConfiguration.objects.get(pk=drifted["ours"].pk).reviewed_at is not None
