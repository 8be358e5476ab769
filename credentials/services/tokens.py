"""Issuing, exchanging, introspecting and revoking access tokens, each one audited."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import Agent, OrganisationPolicy, Resource, ScopeGrant, WorkflowRun
from audit.principals import SYSTEM
from audit.services import record, record_row

from .. import crypto, epoch, process_caches
from ..client_auth import ClientPrincipal, ReplayedAssertion, consume_assertion
from ..errors import OAuthError
from ..models import AssertionJti, RevokedToken
from ..quarantine import Quarantined, quarantine_notice, refuse_if_quarantined
from ..signing import sign_jws
from ..sql import agent_token_context, assertion_jti_row
from ..tokens import (
    ACCESS_TOKEN_TYP,
    LEEWAY_SECONDS,
    TokenCheck,
    ancestors_of,
    check_access_token,
    verify_signature_and_claims,
)

TOKEN_TYPE_ACCESS = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"
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
    return set(
        ScopeGrant.objects.active().filter(agent=agent).values_list("scope__name", flat=True)
    )


def _audiences(resources: list[str], allowed: list[str]) -> list[str]:
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


def _sign(claims: dict[str, Any]) -> str:
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) == 1:
        claims["aud"] = aud[0]
    return sign_jws(claims, typ=ACCESS_TOKEN_TYP)


_POLICY_TTL_SECONDS = 5.0
_lifetime_memo: tuple[float, int] | None = None


def _lifetime() -> int:
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


def _version(agent: Agent) -> str | None:
    return agent.current_version.label if agent.current_version_id else None


def _audit_issue(client: ClientPrincipal | None = None, **entry: Any) -> None:
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


def _requesting_agent(client: ClientPrincipal) -> Agent:
    if client.agent is None:
        raise OAuthError("unauthorized_client", "resource servers do not request access tokens")
    return client.agent


def token_issue(
    *, client: ClientPrincipal, scope: str | None = None, resources: list[str] | None = None
) -> IssuedToken:
    """``client_credentials``: a token for the agent with its granted scopes (or fewer)."""
    agent = _requesting_agent(client)
    refuse_if_quarantined(agent)
    context = client.context or agent_token_context(agent.pk, process_caches.now())
    granted, connected = context.scopes, context.audiences
    requested = parse_scope(scope)
    if requested is not None and not requested <= granted:
        raise OAuthError("invalid_scope", "the requested scope exceeds the agent's grants")
    scopes = sorted(requested if requested is not None else granted)
    aud = _audiences(resources or [], [settings.OAUTH_ISSUER, *connected])
    now = int(timezone.now().timestamp())
    lifetime = _lifetime()
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
    token = _sign(claims)
    _audit_issue(
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


def _check_exchange_input(token: str, token_type: str, name: str) -> TokenCheck:
    if not token:
        raise OAuthError("invalid_request", f"{name} is required")
    if token_type not in (TOKEN_TYPE_ACCESS, TOKEN_TYPE_JWT):
        raise OAuthError("invalid_request", f"{name}_type must be {TOKEN_TYPE_ACCESS}")
    check = check_access_token(token)
    if not check.active:
        raise OAuthError("invalid_grant", f"{name} is not active ({check.reason})")
    return check


def _run(run_id: str, *, client: Agent, subject: Agent) -> WorkflowRun:
    """The run a token is bound to: one that names the calling agent and the subject.

    A run the caller does not take part in reads as unknown (no oracle of other teams' runs).
    """
    run = WorkflowRun.objects.filter(run_id=run_id).first() if len(run_id) <= 100 else None
    named = set(
        run.participants.filter(pk__in={client.pk, subject.pk}).values_list("slug", flat=True)
        if run is not None
        else ()
    )
    if run is None or client.slug not in named:
        raise OAuthError("invalid_request", "unknown workflow_run")
    if subject.slug not in named:
        raise OAuthError(
            "invalid_grant", f"agent {subject.slug} is not a participant of workflow run {run_id}"
        )
    if not run.is_open:
        raise OAuthError("invalid_grant", f"workflow run {run_id} is {run.status}, not running")
    return run


def token_exchange(
    *,
    client: ClientPrincipal,
    subject_token: str,
    subject_token_type: str,
    actor_token: str = "",
    actor_token_type: str = "",
    requested_token_type: str = "",
    scope: str | None = None,
    resources: list[str] | None = None,
    workflow_run: str = "",
) -> IssuedToken:
    """RFC 8693: a task token bound to a run, or a delegated token (``actor_token``)."""
    agent = _requesting_agent(client)
    refuse_if_quarantined(agent)
    if requested_token_type and requested_token_type not in (TOKEN_TYPE_ACCESS, TOKEN_TYPE_JWT):
        raise OAuthError("invalid_request", "only access tokens can be requested")
    if actor_token_type and not actor_token:
        raise OAuthError("invalid_request", "actor_token_type without actor_token")
    subject = _check_exchange_input(subject_token, subject_token_type, "subject_token")
    requested = parse_scope(scope)
    subject_agent = subject.agent
    assert subject_agent is not None
    if subject_agent.pk != agent.pk:
        refuse_if_quarantined(subject_agent, as_subject=True)
    ceilings = [subject.claims["exp"]]
    anc_jtis, anc_creds = ancestors_of(subject.claims)
    anc_jtis = [subject.jti, *anc_jtis]
    anc_creds = [subject.credential_id, *anc_creds]
    act: dict[str, Any] | None = subject.claims.get("act")
    run_id = subject.workflow_run

    if actor_token:
        actor = _check_exchange_input(actor_token, actor_token_type, "actor_token")
        if actor.claims.get("client_id") != agent.slug or actor.claims["sub"] != agent.slug:
            raise OAuthError("invalid_grant", "actor_token must be the calling agent's own token")
        if actor.act_chain:
            raise OAuthError("invalid_grant", "actor_token must not itself be delegated")
        if actor.workflow_run and run_id and actor.workflow_run != run_id:
            raise OAuthError("invalid_grant", "subject and actor tokens are bound to other runs")
        run_id = run_id or actor.workflow_run
        depth = len(subject.act_chain) + 1
        max_depth = OrganisationPolicy.current().max_delegation_depth
        if depth > max_depth:
            raise OAuthError(
                "invalid_grant", f"delegation depth {depth} exceeds the policy maximum {max_depth}"
            )
        act = {"sub": agent.slug, **({"act": act} if act else {})}
        ceiling_scopes = set(subject.scopes) & set(actor.scopes) & granted_scopes(agent)
        ceilings.append(actor.claims["exp"])
        anc_jtis.append(actor.jti)
        anc_creds.append(actor.credential_id)
        action = "token.delegate"
    else:
        if subject.claims.get("client_id") != agent.slug:
            raise OAuthError("invalid_grant", "subject_token was not issued to this client")
        if not workflow_run and not run_id:
            raise OAuthError("invalid_request", "workflow_run is required for a task token")
        ceiling_scopes = set(subject.scopes) & granted_scopes(subject_agent)
        action = "token.exchange"

    if workflow_run:
        if run_id and workflow_run != run_id:
            raise OAuthError("invalid_grant", "subject_token is bound to another workflow run")
        run_id = workflow_run
    run = _run(run_id, client=agent, subject=subject_agent) if run_id else None
    if run is not None and run.deadline is not None:
        ceilings.append(int(run.deadline.timestamp()))

    if requested is not None and not requested <= ceiling_scopes:
        raise OAuthError("invalid_scope", "the requested scope exceeds what may be delegated")
    scopes = sorted(requested if requested is not None else ceiling_scopes)
    if not scopes:
        raise OAuthError("invalid_scope", "no scope is left after the intersection")
    subject_aud = subject.claims.get("aud")
    aud = _audiences(
        resources or [],
        [subject_aud] if isinstance(subject_aud, str) else list(subject_aud or []),
    )
    now = int(timezone.now().timestamp())
    # An exchanged token never outlives its subject, actor or run: that is also what makes
    # pruning a revoked ancestor's row safe once it has expired.
    exp = min([now + _lifetime(), *ceilings])
    if exp <= now:
        raise OAuthError("invalid_grant", "the workflow run's deadline has passed")
    jti = crypto.new_jti()
    claims: dict[str, Any] = {
        "iss": settings.OAUTH_ISSUER,
        "sub": subject_agent.slug,
        "aud": aud,
        "client_id": agent.slug,
        "scope": " ".join(scopes),
        "jti": jti,
        "iat": now,
        "exp": exp,
        "agent_version": _version(subject_agent),
        "cred": client.credential.pk,
        "anc": {
            "jti": list(dict.fromkeys(anc_jtis)),
            "cred": [c for c in dict.fromkeys(anc_creds) if c],
        },
    }
    if run is not None:
        claims["workflow_run"] = run.run_id
    if act:
        claims["act"] = act
    token = _sign(claims)
    chain = [f"agent:{subject_agent.slug}"] if actor_token else []
    _audit_issue(
        client,
        actor=agent.principal,
        action=action,
        resource=" ".join(aud)[:300],
        target_type="access_token",
        target_id=jti,
        token_jti=jti,
        credential_id=client.credential.pk,
        workflow_run=run.run_id if run else "",
        on_behalf_of=chain + [p for p in subject.act_chain],
        changes={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "auth_method": client.method,
            "subject_jti": subject.jti,
            "actor_jti": anc_jtis[-1] if actor_token else None,
            "scope": claims["scope"],
            "aud": aud,
            "exp": exp,
            "act": act,
        },
    )
    return IssuedToken(
        access_token=token,
        expires_in=exp - now,
        scope=claims["scope"],
        jti=jti,
        issued_token_type=TOKEN_TYPE_ACCESS,
    )


def _aud_list(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in (aud or []) if isinstance(a, str)]


def token_introspect(*, caller: Resource, token: str) -> dict[str, Any]:
    """RFC 7662 for a resource server: the live verdict, the act chain, run and trust level."""
    check = check_access_token(token)
    active = check.active and caller.audience in _aud_list(check.claims)
    reason = check.reason or ("" if active else "not_an_audience")
    _audit_issue(
        actor=f"resource:{caller.slug}",
        action="token.introspect",
        outcome="success",
        reason=reason,
        resource=check.subject,
        target_type="access_token",
        target_id=check.jti,
        token_jti=check.jti,
        credential_id=check.credential_id,
        workflow_run=check.workflow_run,
        on_behalf_of=check.act_chain,
        changes={"active": active},
    )
    if not active:
        return {"active": False}
    claims, agent = check.claims, check.agent
    assert agent is not None
    body: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        # The token's scopes still granted to its subject and every actor (check_access_token).
        "scope": " ".join(sorted(check.scopes)),
        "client_id": claims["client_id"],
        "username": agent.slug,
        "sub": claims["sub"],
        "aud": claims.get("aud"),
        "iss": claims["iss"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "jti": claims["jti"],
        "cred": claims.get("cred"),
        "agent_version": claims.get("agent_version"),
        "agent_status": agent.status,
        "trust_level": agent.trust_level,
        "trust_score": agent.trust_score,
    }
    if check.workflow_run:
        body["workflow_run"] = check.workflow_run
    if claims.get("act"):
        body["act"] = claims["act"]
        body["act_chain"] = list(check.act_chain)
    return body


@transaction.atomic
def token_revoke(*, client: ClientPrincipal, token: str, reason: str = "") -> bool:
    """RFC 7009: revoke a token (and so every token exchanged from it); True if it was live."""
    claims, _ = verify_signature_and_claims(token)
    if claims is None:
        # Expired, malformed or foreign: nothing to revoke, and RFC 7009 answers 200 anyway.
        return False
    if client.agent is not None:
        allowed = claims.get("client_id") == client.client_id or claims["sub"] == client.client_id
    else:
        assert client.resource is not None
        allowed = client.resource.audience in _aud_list(claims)
    if not allowed:
        raise OAuthError("unauthorized_client", "this token was not issued to the caller")
    expires_at = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
    _, created = RevokedToken.objects.get_or_create(
        jti=claims["jti"],
        defaults={"expires_at": expires_at, "revoked_by": client.principal, "reason": reason},
    )
    record(
        actor=client.principal,
        action="token.revoke",
        resource=f"agent:{claims['sub']}",
        target_type="access_token",
        target_id=claims["jti"],
        token_jti=claims["jti"],
        credential_id=str(claims.get("cred", "")),
        workflow_run=str(claims.get("workflow_run", "")),
        changes={"already_revoked": not created},
    )
    return created


def tokens_cleanup(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Drop replay-cache rows and revoked ``jti``s whose tokens have expired; safe to re-run."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=LEEWAY_SECONDS + 60)
    with transaction.atomic():
        assertions, _ = AssertionJti.objects.filter(expires_at__lt=cutoff).delete()
        revoked, _ = RevokedToken.objects.filter(expires_at__lt=cutoff).delete()
        record(
            actor=SYSTEM,
            action="token.cleanup",
            changes={"assertion_jtis": assertions, "revoked_jtis": revoked},
        )
    return {"assertion_jtis": assertions, "revoked_jtis": revoked}
