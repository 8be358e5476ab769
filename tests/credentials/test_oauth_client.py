"""The endpoints driven by a real OAuth client (Authlib over httpx) against a live server.

Issued tokens are verified with a separate JOSE library (joserfc) through the published JWKS.
"""

from __future__ import annotations

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, KeySet, OKPKey

from agents import services as agent_services
from audit.models import AuditEntry
from credentials import services
from tests import factories as f
from trust.services import trust_level_set

from .conftest import agent_with_secret, make_keypair, resource_with_secret

pytestmark = pytest.mark.django_db(transaction=True)

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"


def verify_with_jwks(base: str, token: str) -> dict:
    """Verify a token the way a resource server would: JWKS by discovery, joserfc, pinned algs."""
    meta = httpx.get(f"{base}/.well-known/oauth-authorization-server").json()
    key_set = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
    decoded = jose_jwt.decode(token, key_set, algorithms=["ES256", "EdDSA"])
    assert decoded.header["typ"] == "at+jwt"
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": meta["issuer"]},
        exp={"essential": True},
        jti={"essential": True},
        client_id={"essential": True},
    ).validate(decoded.claims)
    return decoded.claims


def secret_client(client, base, method="client_secret_basic") -> OAuth2Client:
    return OAuth2Client(
        client.client_id,
        client.secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        base_url=base,
    )


def key_client(client_id, keypair, base) -> OAuth2Client:
    key_type = ECKey if keypair.alg == "ES256" else OKPKey
    # The assertion's aud is the token endpoint for every endpoint (RFC 7523 allows it).
    auth = PrivateKeyJWT(f"{base}/oauth/token", alg=keypair.alg)
    return OAuth2Client(
        client_id,
        key_type.import_key(keypair.private_jwk),
        token_endpoint_auth_method=auth,
        revocation_endpoint_auth_method=auth,  # Authlib signs revocation separately
    )


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_with_a_secret(live_issuer, method):
    team = f.TeamFactory()
    rs = f.ResourceFactory(slug="ledger", audience="https://ledger.example.test")
    client = agent_with_secret(scopes=("ledger:read", "ledger:write"), owner_team=team)
    f.ConnectionFactory(agent=client.agent, resource=rs)
    version = f.AgentVersionFactory(agent=client.agent, label="2.0.0")
    client.agent.current_version = version
    client.agent.save()

    with secret_client(client, live_issuer, method) as session:
        token = session.fetch_token(f"{live_issuer}/oauth/token", grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == "ledger:read ledger:write"
    claims = verify_with_jwks(live_issuer, token["access_token"])
    assert claims["sub"] == claims["client_id"] == client.agent.slug
    assert claims["aud"] == [live_issuer, "https://ledger.example.test"]
    assert claims["cred"] == client.credential_id
    assert claims["agent_version"] == "2.0.0"
    assert claims["exp"] - claims["iat"] == 300
    entry = AuditEntry.objects.get(action="token.issue")
    assert entry.actor == f"agent:{client.agent.slug}"
    assert entry.token_jti == claims["jti"]
    assert entry.credential_id == client.credential_id
    assert client.secret not in str(entry.changes) + str(entry.context)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "Ed25519"])  # Ed25519: RFC 9864's name
def test_client_credentials_with_private_key_jwt(live_issuer, alg):
    meta = httpx.get(f"{live_issuer}/.well-known/oauth-authorization-server").json()
    assert alg in meta["token_endpoint_auth_signing_alg_values_supported"]
    client = agent_with_secret(scopes=("ledger:read", "ledger:write"))
    keypair = make_keypair(alg)
    services.credential_issue(agent=client.agent, kind="public_key", public_jwk=keypair.public_jwk)
    rs = f.ResourceFactory(audience="https://ledger.example.test")
    f.ConnectionFactory(agent=client.agent, resource=rs)
    with key_client(client.client_id, keypair, live_issuer) as session:
        token = session.fetch_token(
            f"{live_issuer}/oauth/token",
            grant_type="client_credentials",
            scope="ledger:read",
            resource=rs.audience,
        )
    claims = verify_with_jwks(live_issuer, token["access_token"])
    assert claims["scope"] == "ledger:read"
    assert claims["aud"] == "https://ledger.example.test"


def test_introspection_revocation_and_exchange_end_to_end(live_issuer, settings):
    rs_a = resource_with_secret(audience="https://ledger.example.test")
    a = agent_with_secret(scopes=("ledger:read", "ledger:write", "mail:send"))
    b = agent_with_secret(scopes=("ledger:read", "ledger:write"))
    for agent in (a.agent, b.agent):
        f.ConnectionFactory(agent=agent, resource=rs_a.resource)
    run = agent_services.run_start(
        workflow=f.WorkflowFactory(),
        run_id="monthly-close-2026-11",
        triggered_by="user:alice",
        participants=[a.agent, b.agent],
    )
    url = f"{live_issuer}/oauth/token"
    with secret_client(a, live_issuer) as sa, secret_client(b, live_issuer) as sb:
        a_token = sa.fetch_token(url, grant_type="client_credentials")["access_token"]
        # A narrows its own token to a task token bound to the run.
        task = sa.fetch_token(
            url,
            grant_type=EXCHANGE,
            subject_token=a_token,
            subject_token_type=AT,
            requested_token_type=AT,
            scope="ledger:read ledger:write",
            workflow_run=run.run_id,
        )
        assert task["issued_token_type"] == AT
        task_claims = verify_with_jwks(live_issuer, task["access_token"])
        assert task_claims["workflow_run"] == run.run_id
        b_token = sb.fetch_token(url, grant_type="client_credentials")["access_token"]
        # B acts for A: subject = A's task token, actor = B's own token.
        delegated = sb.fetch_token(
            url,
            grant_type=EXCHANGE,
            subject_token=task["access_token"],
            subject_token_type=AT,
            actor_token=b_token,
            actor_token_type=AT,
        )
        d_claims = verify_with_jwks(live_issuer, delegated["access_token"])
        assert d_claims["sub"] == a.agent.slug
        assert d_claims["client_id"] == b.agent.slug
        assert d_claims["act"] == {"sub": b.agent.slug}
        assert d_claims["scope"] == "ledger:read ledger:write"
        assert d_claims["workflow_run"] == run.run_id

    with secret_client(rs_a, live_issuer) as rs:
        info = rs.introspect_token(
            f"{live_issuer}/oauth/introspect", token=delegated["access_token"]
        ).json()
        assert info["active"] is True
        assert info["act"] == {"sub": b.agent.slug}
        assert info["workflow_run"] == run.run_id
        assert info["trust_level"] == "pending"
        # A revokes its task token: the delegated token exchanged from it dies too.
        with secret_client(a, live_issuer) as sa:
            response = sa.revoke_token(f"{live_issuer}/oauth/revoke", token=task["access_token"])
            assert response.status_code == 200
        info = rs.introspect_token(
            f"{live_issuer}/oauth/introspect", token=delegated["access_token"]
        ).json()
        assert info == {"active": False}
        # A's original token is still good: revocation goes down the tree, not up.
        info = rs.introspect_token(f"{live_issuer}/oauth/introspect", token=a_token).json()
        assert info["active"] is True
    assert AuditEntry.objects.filter(action="token.delegate").count() == 1
    assert AuditEntry.objects.filter(action="token.revoke").count() == 1
    assert AuditEntry.objects.filter(action="token.introspect").count() == 3


def test_seed_failure_case_deactivated_human_does_not_stop_the_agent(live_issuer):
    """The human who registered the agent and issued its credential leaves; the agent works."""
    team = f.TeamFactory()
    alice = f.team_member(team, username="alice-leaves")
    agent = agent_services.agent_register(
        slug="invoice-reconciler",
        display_name="Invoice reconciler",
        purpose="Reconciles invoices.",
        owner_team=team,
        by=alice,
    )
    f.ScopeGrantFactory(agent=agent, scope=f.ScopeFactory(name="ledger:read"))
    issued = services.credential_issue(agent=agent, by=alice)
    # Registered agents start UNTRUSTED (quarantined); the engine would lift it to PENDING.
    trust_level_set(agent=agent, score=50, level="pending", reason="test", by="system")
    alice.is_active = False
    alice.save()
    with OAuth2Client(agent.slug, issued.secret) as session:
        token = session.fetch_token(f"{live_issuer}/oauth/token", grant_type="client_credentials")
    assert verify_with_jwks(live_issuer, token["access_token"])["sub"] == "invoice-reconciler"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "private_key_jwt"])
def test_every_auth_method_for_every_grant_and_endpoint(live_issuer, method):
    """client_credentials, token exchange, introspection (as a resource server) and revocation,
    each with the method under test, through Authlib."""
    agent = agent_with_secret(scopes=("ledger:read", "ledger:write"))
    rs = resource_with_secret(audience="https://ledger.example.test")
    f.ConnectionFactory(agent=agent.agent, resource=rs.resource)
    run = agent_services.run_start(
        workflow=f.WorkflowFactory(),
        run_id=f"run-{method}",
        triggered_by="user:alice",
        participants=[agent.agent],
    )
    if method == "private_key_jwt":
        agent_key, rs_key = make_keypair("ES256"), make_keypair("EdDSA")
        services.credential_issue(
            agent=agent.agent, kind="public_key", public_jwk=agent_key.public_jwk
        )
        services.credential_issue(
            resource=rs.resource, kind="public_key", public_jwk=rs_key.public_jwk
        )
        agent_session = key_client(agent.client_id, agent_key, live_issuer)
        rs_session = key_client(rs.client_id, rs_key, live_issuer)
    else:
        agent_session = secret_client(agent, live_issuer, method)
        rs_session = secret_client(rs, live_issuer, method)
    url = f"{live_issuer}/oauth/token"
    with agent_session as session, rs_session as resource_server:
        token = session.fetch_token(url, grant_type="client_credentials", scope="ledger:read")
        task = session.fetch_token(
            url,
            grant_type=EXCHANGE,
            subject_token=token["access_token"],
            subject_token_type=AT,
            workflow_run=run.run_id,
        )
        assert verify_with_jwks(live_issuer, task["access_token"])["workflow_run"] == run.run_id
        introspect = f"{live_issuer}/oauth/introspect"
        info = resource_server.introspect_token(introspect, token=task["access_token"]).json()
        assert info["active"] is True and info["workflow_run"] == run.run_id
        revoked = session.revoke_token(f"{live_issuer}/oauth/revoke", token=token["access_token"])
        assert revoked.status_code == 200
        # Revoking the subject ends the task token exchanged from it.
        info = resource_server.introspect_token(introspect, token=task["access_token"]).json()
        assert info == {"active": False}
    methods = set(
        AuditEntry.objects.filter(action__in=["token.issue", "token.exchange"]).values_list(
            "changes__auth_method", flat=True
        )
    )
    assert methods == {method}
