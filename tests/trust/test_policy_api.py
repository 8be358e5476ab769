"""The trust policy (versioned, validated) and the trust API, role by role."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEntry
from tests import factories as f
from trust.models import TrustPolicy
from trust.policy import trust_policy_change
from trust.recompute import recompute_agents

from .conftest import sound_agent

pytestmark = pytest.mark.django_db


def test_every_change_is_a_new_version_and_audited():
    admin = f.platform_admin(username="root")
    v1 = trust_policy_change(by=admin, reason="start", changes={"trusted_min": 80})
    v2 = trust_policy_change(by=admin, reason="tighter", changes={"pending_min": 60})
    assert (v1.version, v2.version) == (1, 2)
    assert (v2.trusted_min, v2.pending_min) == (80, 60)
    v1.refresh_from_db()
    assert v1.pending_min == 50  # old versions never change
    entry = AuditEntry.objects.filter(action="trust.policy_change").latest("id")
    assert entry.changes == {"pending_min": [50, 60]} and entry.actor == "user:root"


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"weight_identity": 50}, {"weight_identity", "weight_behaviour"}),
        ({"pending_min": 80}, {"pending_min"}),
        ({"trusted_min": 101}, {"trusted_min"}),
        ({"denial_rate_max": 1.5}, {"denial_rate_max"}),
        ({"learning_weeks": 0}, {"learning_weeks"}),
        ({"weight_identity": "lots"}, {"weight_identity"}),
        ({"version": 9}, {"version"}),
    ],
)
def test_bad_policy_refused_with_field_errors(changes, fields):
    with pytest.raises(ValidationError) as info:
        trust_policy_change(by="system", reason="r", changes=changes)
    assert fields <= set(info.value.message_dict)
    assert not TrustPolicy.objects.exists()


def test_only_platform_admins_change_policy():
    with pytest.raises(PermissionDenied):
        trust_policy_change(by=f.security_reviewer(), reason="r", changes={"trusted_min": 80})


def test_computation_stores_the_policy_version_it_used():
    agent = sound_agent()
    recompute_agents([agent.pk])
    trust_policy_change(by="system", reason="lenient", changes={"pending_min": 20})
    recompute_agents([agent.pk])
    versions = list(agent.trust_history.values_list("policy__version", flat=True))
    assert versions == [2, 1]


def test_policy_api_matrix(client):
    url = "/api/v1/trust/policy/"
    assert client.get(url).status_code in (401, 403)
    member = f.team_member(f.TeamFactory())
    client.force_login(member)
    assert client.get(url).json()["trusted_min"] == 75
    assert (
        client.patch(url, {"trusted_min": 80, "reason": "r"}, "application/json").status_code == 403
    )
    client.force_login(f.security_reviewer())
    assert (
        client.patch(url, {"trusted_min": 80, "reason": "r"}, "application/json").status_code == 403
    )
    client.force_login(f.platform_admin())
    bad = client.patch(url, {"weight_identity": 90, "reason": "r"}, "application/json")
    assert bad.status_code == 400
    assert "weight_identity" in bad.json() and "weight_attestations" in bad.json()
    assert (
        client.patch(url, {"weight_identity": "x", "reason": "r"}, "application/json").status_code
        == 400
    )
    assert client.patch(url, {"trusted_min": 80}, "application/json").json() == {
        "reason": ["This field is required."]
    }
    ok = client.patch(url, {"trusted_min": 80, "reason": "stricter"}, "application/json")
    assert ok.status_code == 200 and ok.json()["version"] == 1 and ok.json()["trusted_min"] == 80
    assert len(client.get(url + "versions/").json()["results"]) == 1


def test_agent_trust_api_breakdown_history_and_pins(client):
    agent = sound_agent()
    recompute_agents([agent.pk])
    url = f"/api/v1/trust/agents/{agent.slug}/"
    outsider = f.team_member(f.TeamFactory())
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    owner = f.team_member(agent.owner_team)
    client.force_login(owner)
    body = client.get(url).json()
    assert body["trust_level"] == "pending" and body["pin"] is None
    codes = {row["code"]: row for row in body["latest"]["factors"]}
    assert codes["volume_unknown"]["status"] == "insufficient_data"
    assert codes["credential_secret_only"]["advice"] == "register a key credential: +4"
    assert client.get(url + "history/").json()["results"][0]["policy_version"] == 1
    pin = {"level": "trusted", "reason": "drill"}
    assert client.post(url + "pin/", pin, "application/json").status_code == 403
    client.force_login(f.security_reviewer())
    assert (
        client.post(
            url + "pin/", {"level": "godlike", "reason": "x"}, "application/json"
        ).status_code
        == 400
    )
    made = client.post(url + "pin/", pin, "application/json")
    assert made.status_code == 201 and made.json()["level"] == "trusted"
    assert client.get(url).json()["pin"]["reason"] == "drill"
    released = client.delete(url + "pin/", {"reason": "over"}, "application/json")
    assert released.status_code == 200 and released.json()["ended_at"]
    assert client.delete(url + "pin/", {"reason": "again"}, "application/json").status_code == 400


def test_schema_documents_trust_routes(client):
    client.force_login(f.platform_admin())
    schema = client.get("/api/schema/?format=json").json()
    for route in (
        "/api/v1/trust/policy/",
        "/api/v1/trust/agents/{slug}/",
        "/api/v1/trust/agents/{slug}/history/",
        "/api/v1/trust/agents/{slug}/pin/",
    ):
        assert route in schema["paths"], route
