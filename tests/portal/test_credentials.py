"""Credentials from the portal: a secret shown once, a pasted key, rotation and revocation."""

from __future__ import annotations

import base64
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

from audit.models import AuditEntry
from credentials.models import Credential
from credentials.services import credential_issue

from .conftest import client_for

pytestmark = pytest.mark.django_db

ISSUE = "/portal/agents/red-bot/credentials/new/"


def _public_jwk() -> tuple[dict, dict]:
    private = ed25519.Ed25519PrivateKey.generate()
    return (
        json.loads(OKPAlgorithm.to_jwk(private.public_key())),
        json.loads(OKPAlgorithm.to_jwk(private)),
    )


def _secret_in(response) -> str:
    match = re.search(r'id="secret" type="text" value="([^"]+)"', response.content.decode())
    assert match, "the page shows no secret"
    return match.group(1)


def _token(client, client_id: str, secret: str):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )


def test_a_secret_is_shown_once_never_cached_and_works(org):
    client = client_for(org["alice"])
    assert client.get(ISSUE).status_code == 200
    response = client.post(ISSUE, {"kind": "client_secret", "label": "production"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = _secret_in(response)
    assert "Copy the secret now" in response.content.decode()
    assert b"data-copy=" in response.content
    credential = Credential.objects.get(agent=org["ours"])
    assert (credential.kind, credential.label, credential.created_by) == (
        "client_secret",
        "production",
        org["alice"],
    )
    assert secret not in json.dumps(list(Credential.objects.values()), default=str)
    assert AuditEntry.objects.get(action="credential.issue").actor == "user:alice"
    assert secret not in json.dumps(list(AuditEntry.objects.values()), default=str)
    # The agent page lists it, and shows the secret nowhere again.
    page = client.get("/portal/agents/red-bot/")
    assert credential.pk in page.content.decode()
    assert secret not in page.content.decode()
    assert secret not in json.dumps(dict(client.session.items()), default=str)
    token = _token(client, "red-bot", secret)
    assert token.status_code == 200, token.json()


def test_a_pasted_public_key(org):
    public, _ = _public_jwk()
    client = client_for(org["alice"])
    response = client.post(ISSUE, {"kind": "public_key", "public_jwk": json.dumps(public)})
    assert response.status_code == 302
    credential = Credential.objects.get(agent=org["ours"])
    assert (credential.kind, credential.public_jwk["x"]) == ("public_key", public["x"])
    assert "registered" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "public_key"}, "public_jwk"),
        ({"kind": "public_key", "public_jwk": "{not json"}, "public_jwk"),
        ({"kind": "public_key", "public_jwk": "[1, 2]"}, "public_jwk"),
        ({"kind": "public_key", "public_jwk": "PRIVATE"}, "public_jwk"),
        ({"kind": "client_secret", "public_jwk": "PUBLIC"}, "public_jwk"),
        ({"kind": "password"}, "kind"),
        ({"kind": "client_secret", "expires_at": "2001-01-01T00:00"}, "expires_at"),
    ],
)
def test_bad_credential_input_changes_nothing(org, data, field):
    public, private = _public_jwk()
    if data.get("public_jwk") == "PRIVATE":
        data = {**data, "public_jwk": json.dumps(private)}
    if data.get("public_jwk") == "PUBLIC":
        data = {**data, "public_jwk": json.dumps(public)}
    response = client_for(org["alice"]).post(ISSUE, data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Credential.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="credential.").exists()


def test_the_key_service_refusal_shows_on_the_form(org):
    response = client_for(org["alice"]).post(
        ISSUE, {"kind": "public_key", "public_jwk": json.dumps({"kty": "RSA", "n": "x"})}
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not Credential.objects.exists()


def test_rotate_shows_the_successor_once_and_keeps_the_predecessor_for_the_overlap(org):
    old = credential_issue(agent=org["ours"], by="system").credential
    client = client_for(org["alice"])
    url = f"/portal/agents/red-bot/credentials/{old.pk}/rotate/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "yearly"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = _secret_in(response)
    old.refresh_from_db()
    assert old.status == Credential.Status.ROTATING
    successor = Credential.objects.get(predecessor=old)
    assert secret.count(successor.pk) == 1
    token = _token(client, "red-bot", secret)
    assert token.status_code == 200, token.json()


def test_emergency_rotation_needs_a_reason_and_revokes_now(org):
    old = credential_issue(agent=org["ours"], by="system").credential
    client = client_for(org["alice"])
    url = f"/portal/agents/red-bot/credentials/{old.pk}/emergency/"
    assert client.post(url, {"reason": ""}).status_code == 400
    old.refresh_from_db()
    assert old.status == Credential.Status.ACTIVE
    response = client.post(url, {"reason": "leaked in a log"})
    assert response.status_code == 200
    old.refresh_from_db()
    assert (old.status, old.status_reason) == (Credential.Status.REVOKED, "leaked in a log")
    assert "revoked now" in response.content.decode()


def test_rotating_a_key_needs_the_new_public_key(org):
    public, _ = _public_jwk()
    old = credential_issue(
        agent=org["ours"], kind="public_key", public_jwk=public, by="system"
    ).credential
    client = client_for(org["alice"])
    url = f"/portal/agents/red-bot/credentials/{old.pk}/rotate/"
    assert client.post(url, {"reason": "r"}).status_code == 400
    new_public, _ = _public_jwk()
    response = client.post(url, {"reason": "r", "public_jwk": json.dumps(new_public)})
    assert response.status_code == 302
    assert Credential.objects.get(predecessor=old).public_jwk["x"] == new_public["x"]


def test_revoke_needs_a_reason(org):
    old = credential_issue(agent=org["ours"], by="system").credential
    client = client_for(org["alice"])
    url = f"/portal/agents/red-bot/credentials/{old.pk}/revoke/"
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "unused"}).status_code == 302
    old.refresh_from_db()
    assert old.status == Credential.Status.REVOKED
    assert client.post(url, {"reason": "again"}).status_code == 400  # already revoked


def test_a_reviewer_may_revoke_but_gets_no_secret(org):
    old = credential_issue(agent=org["ours"], by="system").credential
    client = client_for(org["rita"])
    base = f"/portal/agents/red-bot/credentials/{old.pk}"
    assert client.post(ISSUE, {"kind": "client_secret"}).status_code == 403
    assert client.post(f"{base}/rotate/", {"reason": "x"}).status_code == 403
    assert client.post(f"{base}/emergency/", {"reason": "x"}).status_code == 403
    assert Credential.objects.count() == 1
    assert client.post(f"{base}/revoke/", {"reason": "contain"}).status_code == 302
    old.refresh_from_db()
    assert old.status == Credential.Status.REVOKED


def test_another_agents_credential_is_404(org):
    theirs = credential_issue(agent=org["theirs"], by="system").credential
    client = client_for(org["alice"])
    url = f"/portal/agents/red-bot/credentials/{theirs.pk}/revoke/"
    assert client.post(url, {"reason": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Credential.Status.ACTIVE
