"""The credentials API and admin, for every role: anonymous, no role, other team, own team,
reviewer, admin. Another team's credentials are a 404."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from credentials.models import Credential
from tests import factories as f

from .conftest import agent_with_secret, make_keypair

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    team = f.TeamFactory()
    other_team = f.TeamFactory()
    owned = agent_with_secret(owner_team=team)
    users = {
        "anonymous": None,
        "no_role": f.UserFactory(is_staff=True),
        "other_team": f.team_member(other_team),
        "own_team": f.team_member(team),
        "reviewer": f.security_reviewer(),
        "admin": f.platform_admin(),
    }
    return {"team": team, "owned": owned, "users": users}


def api(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("anonymous", None),
        ("no_role", False),
        ("other_team", False),
        ("own_team", True),
        ("reviewer", True),
        ("admin", True),
    ],
)
def test_list_and_retrieve(setup, who, sees):
    client = api(setup["users"][who])
    listing = client.get("/api/v1/credentials/")
    detail = client.get(f"/api/v1/credentials/{setup['owned'].credential_id}/")
    if sees is None:
        assert listing.status_code in (401, 403) and detail.status_code in (401, 403)
        return
    assert listing.status_code == 200
    ids = [row["id"] for row in listing.json()["results"]]
    assert (setup["owned"].credential_id in ids) is sees
    assert detail.status_code == (200 if sees else 404)
    if sees:
        body = detail.json()
        assert "secret_hmac" not in body and "client_secret" not in body


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", (401, 403)),
        ("no_role", (404,)),
        ("other_team", (404,)),
        ("own_team", (201,)),
        ("reviewer", (403,)),
        ("admin", (201,)),
    ],
)
def test_issue(setup, who, status):
    client = api(setup["users"][who])
    response = client.post(
        "/api/v1/credentials/", {"agent": setup["owned"].client_id}, format="json"
    )
    assert response.status_code in status, response.content
    if response.status_code == 201:
        body = response.json()
        assert body["client_secret"].startswith("agcs_")
        assert Credential.objects.get(pk=body["id"]).secret_hmac != body["client_secret"]
        # Shown once: reading it back never shows it.
        again = client.get(f"/api/v1/credentials/{body['id']}/").json()
        assert "client_secret" not in again
        entry = AuditEntry.objects.get(action="credential.issue", credential_id=body["id"])
        assert body["client_secret"] not in str(entry.changes)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("no_role", 404),
        ("other_team", 404),
        ("own_team", 200),
        ("reviewer", 200),
        ("admin", 200),
    ],
)
def test_revoke_and_revoke_all(setup, who, status):
    client = api(setup["users"][who])
    cred = setup["owned"].credential_id
    response = client.post(f"/api/v1/credentials/{cred}/revoke/", {"reason": "t"}, format="json")
    assert response.status_code == status
    expected = "revoked" if status == 200 else "active"
    assert Credential.objects.get(pk=cred).status == expected
    response = client.post(
        "/api/v1/credentials/revoke-all/", {"agent": setup["owned"].client_id}, format="json"
    )
    assert response.status_code == status


def test_issue_public_key_and_reject_private_or_bad_keys(setup):
    client = api(setup["users"]["own_team"])
    keypair = make_keypair("EdDSA")
    ok = client.post(
        "/api/v1/credentials/",
        {"agent": setup["owned"].client_id, "kind": "public_key", "public_jwk": keypair.public_jwk},
        format="json",
    )
    assert ok.status_code == 201 and "client_secret" not in ok.json()
    assert ok.json()["algorithm"] == "EdDSA"
    for bad in [keypair.private_jwk, {"kty": "RSA", "n": "x", "e": "AQAB"}, "nope", None]:
        response = client.post(
            "/api/v1/credentials/",
            {"agent": setup["owned"].client_id, "kind": "public_key", "public_jwk": bad},
            format="json",
        )
        assert response.status_code == 400, response.content


def test_human_rotation_through_the_api(setup):
    client = api(setup["users"]["own_team"])
    cred = setup["owned"].credential_id
    response = client.post(f"/api/v1/credentials/{cred}/rotate/", {}, format="json")
    assert response.status_code == 201
    assert response.json()["predecessor"] == cred
    assert Credential.objects.get(pk=cred).status == "rotating"
    reviewer = api(setup["users"]["reviewer"])
    new = response.json()["id"]
    assert reviewer.post(f"/api/v1/credentials/{new}/rotate/", {}, format="json").status_code == (
        403
    )
    # Containment only contains (issue 13 item 1): a reviewer's emergency rotation is refused
    # (it would hand over the successor's secret); the reviewer revokes instead.
    emergency = reviewer.post(
        f"/api/v1/credentials/{new}/rotate/", {"emergency": True}, format="json"
    )
    assert emergency.status_code == 403
    assert Credential.objects.get(pk=new).status == "active"
    revoked = reviewer.post(f"/api/v1/credentials/{new}/revoke/", {}, format="json")
    assert revoked.status_code == 200
    assert Credential.objects.get(pk=new).status == "revoked"


@pytest.mark.parametrize(
    ("who", "changelist", "detail"),
    [
        ("other_team", 200, 404),
        ("own_team", 200, 200),
        ("reviewer", 200, 200),
        ("admin", 200, 200),
    ],
)
def test_admin_views(client, setup, who, changelist, detail):
    client.force_login(setup["users"][who])
    cred = setup["owned"].credential_id
    listing = client.get("/admin/credentials/credential/")
    assert listing.status_code == changelist
    assert (cred in listing.content.decode()) is (detail == 200)
    page = client.get(f"/admin/credentials/credential/{cred}/change/")
    assert page.status_code == detail
    if detail == 200:
        assert Credential.objects.get(pk=cred).secret_hmac not in page.content.decode()


def test_admin_issue_shows_the_secret_once(client, setup):
    client.force_login(setup["users"]["own_team"])
    form = client.get("/admin/credentials/credential/add/")
    assert form.status_code == 200
    response = client.post(
        "/admin/credentials/credential/add/",
        {"agent": setup["owned"].agent.pk, "kind": "client_secret", "label": "ci"},
    )
    assert response.status_code == 200
    assert (
        response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    )
    credential = Credential.objects.get(label="ci")
    assert f"agcs_{credential.pk}_" in response.content.decode()
    # The other team's member cannot issue for this agent (not offered, refused if forced).
    client.force_login(setup["users"]["other_team"])
    response = client.post(
        "/admin/credentials/credential/add/",
        {"agent": setup["owned"].agent.pk, "kind": "client_secret", "label": "evil"},
    )
    assert not Credential.objects.filter(label="evil").exists()


def test_admin_revoke_action(client, setup):
    client.force_login(setup["users"]["own_team"])
    cred = setup["owned"].credential_id
    response = client.post(
        "/admin/credentials/credential/",
        {"action": "revoke_selected", "_selected_action": [cred]},
    )
    assert response.status_code == 302
    assert Credential.objects.get(pk=cred).status == "revoked"


def test_admin_revoke_checks_every_row_before_revoking_any(client, setup):
    """A selection with one credential the user may only see is refused as a whole: nothing
    is revoked, not even the rows listed before it."""
    from guardian.shortcuts import assign_perm

    user = setup["users"]["own_team"]
    seen_only = agent_with_secret(owner_team=f.TeamFactory())
    assign_perm("agents.view_team", user, seen_only.agent.owner_team)
    owned = setup["owned"].credential_id
    # Listed after the one the user may revoke (the admin lists the newest first).
    Credential.objects.filter(pk=seen_only.credential_id).update(
        created_at=Credential.objects.get(pk=owned).created_at - dt.timedelta(minutes=1)
    )
    client.force_login(user)
    response = client.post(
        "/admin/credentials/credential/",
        {"action": "revoke_selected", "_selected_action": [owned, seen_only.credential_id]},
    )
    assert response.status_code == 403
    assert Credential.objects.get(pk=owned).status == "active"
    assert Credential.objects.get(pk=seen_only.credential_id).status == "active"
