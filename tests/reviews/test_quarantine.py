"""Quarantine from outside: a suspended credential stops its live tokens and authenticates
nothing; restoring it brings both back. Grants are untouched throughout."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from agents.models import ScopeGrant
from credentials.errors import CredentialError, CredentialForbidden
from credentials.services import credential_restore, credential_suspend
from tests import factories as f
from tests.decisions.conftest import basic, make_world

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


def test_a_suspended_credential_is_refused_until_restored(client):
    cache.clear()
    world = make_world()
    from credentials.services import credential_issue

    issued = credential_issue(agent=world.agent, by="system")
    auth = basic(world.agent.slug, issued.secret)

    def token_status() -> int:
        return client.post(
            "/oauth/token", "grant_type=client_credentials", content_type=FORM,
            HTTP_AUTHORIZATION=auth,
        ).status_code  # fmt: skip

    token = client.post(
        "/oauth/token", "grant_type=client_credentials", content_type=FORM,
        HTTP_AUTHORIZATION=auth,
    ).json()["access_token"]  # fmt: skip
    assert world.decide(client, token=token).json()["decision"] == "allow"

    credential_suspend(credential=issued.credential, by="system", reason="quarantine")
    assert world.decide(client, token=token).json()["decision"] == "deny"
    assert token_status() == 401
    assert ScopeGrant.objects.filter(agent=world.agent, status="active").count() == 2

    credential_restore(credential=issued.credential, by="system", reason="signed off")
    assert issued.credential.status == "active"
    assert world.decide(client, token=token).json()["decision"] == "allow"
    assert token_status() == 200
    with pytest.raises(CredentialError):
        credential_restore(credential=issued.credential, by="system")


def test_who_may_suspend(db):
    world = make_world()
    outsider = f.team_member(f.TeamFactory())
    with pytest.raises(CredentialForbidden):
        credential_suspend(credential=world.agent_credential, by=outsider)
    credential_suspend(credential=world.agent_credential, by=f.security_reviewer())
    assert world.agent_credential.status == "suspended"
