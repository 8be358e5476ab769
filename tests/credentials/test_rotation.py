"""Credential rotation (self-service, overlap, emergency, beat sweep) and signing-key rotation."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest
from django.utils import timezone

from agents.models import OrganisationPolicy
from agents.notices.models import Notice, NoticeKind
from audit.models import AuditEntry
from credentials import services, signing, tasks
from credentials.models import Credential, SigningKey
from credentials.token_check import check_access_token

from .conftest import agent_with_secret, make_keypair

pytestmark = pytest.mark.django_db


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


FORM = "application/x-www-form-urlencoded"


def get_token(client, client_id, secret):
    return client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )


def test_self_rotation_overlaps_then_the_sweep_expires_the_predecessor(client, issuer):
    policy = OrganisationPolicy.current()
    policy.rotation_overlap_hours = 2
    policy.save()
    agent = agent_with_secret()
    old_token = get_token(client, agent.client_id, agent.secret).json()["access_token"]
    response = client.post(
        "/api/v1/credentials/rotate", HTTP_AUTHORIZATION=basic(agent.client_id, agent.secret)
    )
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    new_secret = body["client_secret"]
    assert body["predecessor"] == agent.credential_id
    # Both work during the overlap, and tokens from the old one stay good.
    assert get_token(client, agent.client_id, agent.secret).status_code == 200
    assert get_token(client, agent.client_id, new_secret).status_code == 200
    assert check_access_token(old_token).active
    old = Credential.objects.get(pk=agent.credential_id)
    assert old.status == "rotating"
    # Rotating the predecessor again is refused (it already has a successor).
    again = client.post(
        "/api/v1/credentials/rotate", HTTP_AUTHORIZATION=basic(agent.client_id, agent.secret)
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_request"
    # After the overlap: the sweep expires it; re-running it changes nothing.
    later = timezone.now() + dt.timedelta(hours=2, minutes=1)
    assert services.credentials_expire_due(now=later) == 1
    assert services.credentials_expire_due(now=later) == 0
    old.refresh_from_db()
    assert old.status == "expired"
    assert get_token(client, agent.client_id, agent.secret).status_code == 401
    assert get_token(client, agent.client_id, new_secret).status_code == 200
    expired = Notice.objects.filter(kind=NoticeKind.CREDENTIAL_EXPIRED, dedupe_key=old.pk)
    assert expired.count() == 1 and expired.get().team == agent.agent.owner_team
    assert AuditEntry.objects.filter(action="credential.expire", credential_id=old.pk).count() == 1


def test_the_overlap_ends_even_before_the_sweep_runs(client, issuer):
    agent = agent_with_secret()
    old = Credential.objects.get(pk=agent.credential_id)
    services.credential_rotate(credential=old, by="system")
    Credential.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert get_token(client, agent.client_id, agent.secret).status_code == 401


def test_emergency_rotation_kills_the_predecessor_and_its_tokens_now(client, issuer):
    agent = agent_with_secret()
    token = get_token(client, agent.client_id, agent.secret).json()["access_token"]
    response = client.post(
        "/api/v1/credentials/rotate",
        "emergency=true",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(agent.client_id, agent.secret),
    )
    assert response.status_code == 201
    assert get_token(client, agent.client_id, agent.secret).status_code == 401
    assert check_access_token(token).reason == "credential_revoked"
    assert get_token(client, agent.client_id, response.json()["client_secret"]).status_code == 200
    assert AuditEntry.objects.filter(action="credential.rotate.emergency").count() == 1


def test_key_credential_rotation_needs_the_new_public_key(client, issuer):
    agent = agent_with_secret()
    first = make_keypair("EdDSA")
    cred = services.credential_issue(
        agent=agent.agent, kind="public_key", public_jwk=first.public_jwk
    ).credential
    with pytest.raises(services.credentials.CredentialError):
        services.credential_rotate(credential=cred)
    second = make_keypair("ES256")
    issued = services.credential_rotate(credential=cred, public_jwk=second.public_jwk)
    assert issued.secret is None
    assert issued.credential.algorithm == "ES256"


def test_self_rotation_requires_client_authentication(client):
    response = client.post("/api/v1/credentials/rotate")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_the_sweep_flags_credentials_near_max_age_once(client):
    policy = OrganisationPolicy.current()
    policy.credential_max_age_days = 30
    policy.save()
    agent = agent_with_secret()
    fresh = agent_with_secret()
    Credential.objects.filter(pk=agent.credential_id).update(
        created_at=timezone.now() - dt.timedelta(days=25)
    )
    result = tasks.rotation_sweep()
    assert result == {"flagged": 1, "expired": 0}
    assert tasks.rotation_sweep() == {"flagged": 0, "expired": 0}
    notice = Notice.objects.get(kind=NoticeKind.ROTATION_DUE)
    assert notice.dedupe_key == agent.credential_id
    assert notice.team == agent.agent.owner_team
    assert notice.outbox.count() == 1  # one email, queued with the notice
    assert not Notice.objects.filter(dedupe_key=fresh.credential_id).exists()
    assert AuditEntry.objects.filter(action="credential.rotation_due").count() == 1


def test_signing_keys_publish_next_before_it_signs_and_keep_retired_until_expiry(issuer):
    first_kid = signing.current_kid()
    jwks = signing.public_jwks()
    kids = [k["kid"] for k in jwks["keys"]]
    assert kids[0] == first_kid and len(kids) == 2  # current and the published next key
    nxt = SigningKey.objects.get(status="next")
    assert all("d" not in k for k in jwks["keys"])

    # Not due yet: nothing changes, however often the task runs.
    assert services.signing_keys_rotate() == {"created": [], "activated": [], "expired": []}

    # Due (30 days on), and the next key has been published long enough: it takes over.
    later = timezone.now() + dt.timedelta(days=31)
    out = services.signing_keys_rotate(now=later)
    assert out["activated"] == [nxt.kid]
    signing.forget()
    assert signing.current_kid() == nxt.kid
    token = signing.sign_jws({"x": 1}, typ="JWT")
    assert jwt.get_unverified_header(token)["kid"] == nxt.kid
    retired = SigningKey.objects.get(kid=first_kid)
    assert retired.status == "retired"
    published = {k["kid"] for k in signing.public_jwks()["keys"]}
    assert {first_kid, nxt.kid} <= published and len(published) == 3

    # After its last token expired the retired key leaves the JWKS but stays in --all.
    much_later = retired.publish_until + dt.timedelta(seconds=1)
    assert services.signing_keys_rotate(now=much_later)["expired"] == [first_kid]
    assert first_kid not in {k["kid"] for k in signing.public_jwks()["keys"]}
    assert first_kid in {k["kid"] for k in signing.public_jwks(include_retired=True)["keys"]}


def test_ed25519_signing_keys_work_end_to_end(client, issuer):
    signing.current_kid()
    services.signing_keys_rotate(force=True, algorithm="EdDSA")
    services.signing_keys_rotate(force=True, algorithm="EdDSA")
    signing.forget()
    agent = agent_with_secret()
    token = get_token(client, agent.client_id, agent.secret).json()["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    assert check_access_token(token).active


def test_signing_keys_are_encrypted_at_rest_and_rewrap(settings):
    from cryptography.fernet import Fernet

    signing.current_kid()
    key = SigningKey.objects.get(status="current")
    assert b"PRIVATE KEY" not in key.private_key_encrypted.encode()
    settings.SIGNING_KEY_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.SIGNING_KEY_ENCRYPTION_KEYS,
    ]
    assert services.signing_keys_rewrap() == 2
    settings.SIGNING_KEY_ENCRYPTION_KEYS = settings.SIGNING_KEY_ENCRYPTION_KEYS[:1]
    signing.forget()
    signing._private.clear()
    assert jwt.get_unverified_header(signing.sign_jws({}, typ="JWT"))["kid"] == key.kid


def test_cli_jwks_issue_and_revoke(capsys):
    from django.core.management import call_command

    agent = agent_with_secret()
    call_command("credentials", "issue", "--agent", agent.client_id)
    issued = json.loads(capsys.readouterr().out)
    assert issued["client_secret"].startswith("agcs_")
    call_command("credentials", "list", "--agent", agent.client_id)
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 2 and all("client_secret" not in row for row in listed)
    call_command("credentials", "revoke", issued["id"], "--reason", "test")
    assert json.loads(capsys.readouterr().out)["status"] == "revoked"
    call_command("credentials", "revoke-all", "--agent", agent.client_id)
    assert json.loads(capsys.readouterr().out) == {"revoked": 1}
    call_command("credentials", "jwks", "--all")
    keys = json.loads(capsys.readouterr().out)["keys"]
    assert keys and all(set(k) >= {"kid", "alg", "kty"} and "d" not in k for k in keys)


def test_a_resource_server_rotates_its_own_secret(client):
    from .conftest import resource_with_secret

    rs = resource_with_secret()
    response = client.post(
        "/api/v1/credentials/rotate", HTTP_AUTHORIZATION=basic(rs.client_id, rs.secret)
    )
    assert response.status_code == 201
    assert response.json()["principal"] == f"resource:{rs.client_id}"
