"""Issuing access tokens (``client_credentials``) and what every issuance shares: the scope
parameter, RFC 8707 audiences, the lifetime, signing and the one audited write."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import Agent, OrganisationPolicy, ScopeGrant
from audit.services import record, record_row

from .. import crypto, epoch, process_caches
from ..client_auth import ClientPrincipal, ReplayedAssertion, consume_assertion
from ..errors import OAuthError
from ..quarantine import Quarantined, quarantine_notice, refuse_if_quarantined
from ..signing import sign_jws
from ..sql import agent_token_context, assertion_jti_row
from ..token_check import ACCESS_TOKEN_TYP

_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3


@dataclass(frozen=True)
class IssuedToken:
    """An access token and what the token response says about it."""

    access_token: str
    expires_in: int
    scope: str
    jti: str
    issued_token_type: str | None = None

    def response(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.issued_token_type:
            body["issued_token_type"] = self.issued_token_type
        return body


def parse_scope(scope: str | None) -> set[str] | None:
    """The scopes asked for, or None when the parameter is absent or empty."""
    if scope is None or not scope.strip():
        return None
    parts = scope.split(" ")
    if len(scope) > 2000 or any(not _SCOPE_TOKEN.match(p) for p in parts if p) or "" in parts:
        raise OAuthError("invalid_scope", "scope must be space-separated scope tokens")
    return set(parts)


def granted_scopes(agent: Agent) -> set[str]:
    """The scopes the agent holds right now (active, unexpired grants)."""
    return set(
        ScopeGrant.objects.active().filter(agent=agent).values_list("scope__name", flat=True)
    )


def audiences(resources: list[str], allowed: list[str]) -> list[str]:
    """RFC 8707: the asked resources, each one the token may be for (``allowed``), else all.

    ``allowed`` is the issuer and the agent's connected resources for a new token, the
    subject token's audiences for an exchange (it can narrow, never widen). Anything else,
    registered or not, is ``invalid_target`` with the same answer (no oracle of what exists).
    """
    if not resources:
        return list(allowed)
    if len(resources) > 10 or any(len(r) > 300 for r in resources):
        raise OAuthError("invalid_target", "too many or too long resource values")
    outside = [r for r in resources if r not in allowed]
    if outside:
        raise OAuthError(
            "invalid_target", f"resource {outside[0]!r} is not available to this client"
        )
    return list(dict.fromkeys(resources))


def sign(claims: dict[str, Any]) -> str:
    """The signed access token (a single audience as a string, as RFC 9068 allows)."""
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) == 1:
        claims["aud"] = aud[0]
    return sign_jws(claims, typ=ACCESS_TOKEN_TYP)


_POLICY_TTL_SECONDS = 5.0
_lifetime_memo: tuple[float, int] | None = None


def token_lifetime() -> int:
    """The policy's token lifetime, re-read every few seconds (not a revocation input)."""
    global _lifetime_memo
    memo = _lifetime_memo if process_caches.enabled() else None
    if memo is None or process_caches.monotonic() - memo[0] > _POLICY_TTL_SECONDS:
        lifetime = OrganisationPolicy.current().access_token_lifetime_seconds
        memo = (process_caches.monotonic(), lifetime)
        _lifetime_memo = memo if process_caches.enabled() else None
    return memo[1]


def forget_policy() -> None:
    """Drop the memo of the policy (a process cache: ``process_caches.forget_all``)."""
    global _lifetime_memo
    _lifetime_memo = None


process_caches.register("credentials.token_lifetime", forget_policy)


def version_label(agent: Agent) -> str | None:
    """The label of the agent's current version, the ``agent_version`` claim."""
    return agent.current_version.label if agent.current_version_id else None


def audit_issue(client: ClientPrincipal | None = None, **entry: Any) -> None:
    """The audit entry of an issuance, exchange or introspection: its only write.

    Everything else (reads, signing) happens before it, outside the transaction, so the write
    lock (SQLite's is database-wide) is held for one INSERT. The token is returned only after
    this commits: if the entry cannot be written, nothing is issued (fail closed). A client
    from the cache guards the INSERT with its epoch (``AuditGuardFailed``: nothing written).
    """
    if client is not None and client.guard_epoch is not None:
        entry["only_if"] = epoch.guard(client.guard_epoch)
    if client is None or client.assertion is None:
        # One INSERT in autocommit is a transaction of its own, committed when execute()
        # returns: the same guarantee as atomic() without the BEGIN and COMMIT round trips.
        # (Inside a caller's atomic block it simply joins that transaction.)
        record_row(**entry)
        return
    # The assertion's replay-cache row commits with the entry, or neither does (a replay, or a
    # moved epoch); on PostgreSQL both are one statement. The refusal is recorded separately.
    try:
        record_row(**entry, along_with=assertion_jti_row(*client.assertion))
    except IntegrityError as exc:
        raise ReplayedAssertion() from exc


def token_refuse(*, client: ClientPrincipal, grant_type: str, error: OAuthError) -> None:
    """Record a token request refused after its client authenticated (``token.refuse``).

    A refused request still uses its assertion up; if it was a replay, the refusal is the
    record either way.
    """
    with transaction.atomic():
        with contextlib.suppress(ReplayedAssertion):
            consume_assertion(client)
        if isinstance(error, Quarantined):
            quarantine_notice(error.agent)
        record(
            actor=client.principal,
            action="token.refuse",
            outcome="denied",
            reason=error.reason or error.error,
            credential_id=client.credential.pk,
            context_data={"grant_type": grant_type[:100], "description": error.description[:300]},
        )


def requesting_agent(client: ClientPrincipal) -> Agent:
    """The agent asking for a token; resource servers get none (``unauthorized_client``)."""
    if client.agent is None:
        raise OAuthError("unauthorized_client", "resource servers do not request access tokens")
    return client.agent


def token_issue(
    *, client: ClientPrincipal, scope: str | None = None, resources: list[str] | None = None
) -> IssuedToken:
    """``client_credentials``: a token for the agent with its granted scopes (or fewer)."""
    agent = requesting_agent(client)
    refuse_if_quarantined(agent)
    context = client.context or agent_token_context(agent.pk, process_caches.now())
    granted, connected = context.scopes, context.audiences
    requested = parse_scope(scope)
    if requested is not None and not requested <= granted:
        raise OAuthError("invalid_scope", "the requested scope exceeds the agent's grants")
    scopes = sorted(requested if requested is not None else granted)
    aud = audiences(resources or [], [settings.OAUTH_ISSUER, *connected])
    now = int(timezone.now().timestamp())
    lifetime = token_lifetime()
    jti = crypto.new_jti()
    claims = {
        "iss": settings.OAUTH_ISSUER,
        "sub": agent.slug,
        "aud": aud,
        "client_id": agent.slug,
        "scope": " ".join(scopes),
        "jti": jti,
        "iat": now,
        "exp": now + lifetime,
        "agent_version": context.version,
        "cred": client.credential.pk,
    }
    token = sign(claims)
    audit_issue(
        client,
        actor=agent.principal,
        action="token.issue",
        resource=" ".join(aud)[:300],
        target_type="access_token",
        target_id=jti,
        token_jti=jti,
        credential_id=client.credential.pk,
        changes={
            "grant_type": "client_credentials",
            "auth_method": client.method,
            "scope": claims["scope"],
            "aud": aud,
            "exp": claims["exp"],
        },
    )
    return IssuedToken(access_token=token, expires_in=lifetime, scope=claims["scope"], jti=jti)
