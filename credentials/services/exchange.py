"""Token exchange (RFC 8693): a task token bound to a workflow run, or a delegated token.

Both start from a live subject token and end the same way (the run, the scope, the audience,
a lifetime that never outlives what the token came from, one audited write); what differs is
who may ask and what bounds the result, which ``_task_token`` and ``_delegated_token`` say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from agents.models import Agent, OrganisationPolicy, WorkflowRun

from .. import crypto
from ..client_auth import ClientPrincipal
from ..errors import OAuthError
from ..quarantine import refuse_if_quarantined
from ..token_check import TokenCheck, ancestors_of, check_access_token
from .access_tokens import (
    IssuedToken,
    audiences,
    audit_issue,
    granted_scopes,
    parse_scope,
    requesting_agent,
    sign,
    token_lifetime,
    version_label,
)

TOKEN_TYPE_ACCESS = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"


@dataclass
class _Exchange:
    """What the exchanged token may carry, before its run, audience and lifetime are settled."""

    action: str  # token.exchange (task token) or token.delegate
    scopes: set[str]  # the most it may carry
    act: dict[str, Any] | None
    run_id: str  # the run it is bound to by the tokens it comes from ("" if none)
    ceilings: list[int]  # the ``exp`` of every token it comes from
    anc_jtis: list[str]
    anc_creds: list[str]
    on_behalf_of: list[str] = field(default_factory=list)
    actor_jti: str | None = None


def _checked(token: str, token_type: str, name: str) -> TokenCheck:
    """A live token given as ``subject_token`` or ``actor_token``, else the RFC 8693 error."""
    if not token:
        raise OAuthError("invalid_request", f"{name} is required")
    if token_type not in (TOKEN_TYPE_ACCESS, TOKEN_TYPE_JWT):
        raise OAuthError("invalid_request", f"{name}_type must be {TOKEN_TYPE_ACCESS}")
    check = check_access_token(token)
    if not check.active:
        raise OAuthError("invalid_grant", f"{name} is not active ({check.reason})")
    return check


def _task_token(agent: Agent, subject: TokenCheck, workflow_run: str) -> _Exchange:
    """A task token: the agent's own token narrowed to a run, within its current grants."""
    if subject.claims.get("client_id") != agent.slug:
        raise OAuthError("invalid_grant", "subject_token was not issued to this client")
    if not workflow_run and not subject.workflow_run:
        raise OAuthError("invalid_request", "workflow_run is required for a task token")
    assert subject.agent is not None
    anc_jtis, anc_creds = ancestors_of(subject.claims)
    return _Exchange(
        action="token.exchange",
        scopes=set(subject.scopes) & granted_scopes(subject.agent),
        act=subject.claims.get("act"),
        run_id=subject.workflow_run,
        ceilings=[subject.claims["exp"]],
        anc_jtis=[subject.jti, *anc_jtis],
        anc_creds=[subject.credential_id, *anc_creds],
        on_behalf_of=list(subject.act_chain),
    )


def _delegated_token(agent: Agent, subject: TokenCheck, actor: TokenCheck) -> _Exchange:
    """Delegation A → B: B (``agent``, the actor) acts for A (the subject), within what A's
    token, B's own token and B's grants all allow, to the policy's depth."""
    if actor.claims.get("client_id") != agent.slug or actor.claims["sub"] != agent.slug:
        raise OAuthError("invalid_grant", "actor_token must be the calling agent's own token")
    if actor.act_chain:
        raise OAuthError("invalid_grant", "actor_token must not itself be delegated")
    if actor.workflow_run and subject.workflow_run and actor.workflow_run != subject.workflow_run:
        raise OAuthError("invalid_grant", "subject and actor tokens are bound to other runs")
    depth = len(subject.act_chain) + 1
    max_depth = OrganisationPolicy.current().max_delegation_depth
    if depth > max_depth:
        raise OAuthError(
            "invalid_grant", f"delegation depth {depth} exceeds the policy maximum {max_depth}"
        )
    subject_act = subject.claims.get("act")
    anc_jtis, anc_creds = ancestors_of(subject.claims)
    return _Exchange(
        action="token.delegate",
        scopes=set(subject.scopes) & set(actor.scopes) & granted_scopes(agent),
        act={"sub": agent.slug, **({"act": subject_act} if subject_act else {})},
        run_id=subject.workflow_run or actor.workflow_run,
        ceilings=[subject.claims["exp"], actor.claims["exp"]],
        anc_jtis=[subject.jti, *anc_jtis, actor.jti],
        anc_creds=[subject.credential_id, *anc_creds, actor.credential_id],
        on_behalf_of=[f"agent:{subject.agent.slug}", *subject.act_chain],
        actor_jti=actor.jti,
    )


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
    agent = requesting_agent(client)
    refuse_if_quarantined(agent)
    if requested_token_type and requested_token_type not in (TOKEN_TYPE_ACCESS, TOKEN_TYPE_JWT):
        raise OAuthError("invalid_request", "only access tokens can be requested")
    if actor_token_type and not actor_token:
        raise OAuthError("invalid_request", "actor_token_type without actor_token")
    subject = _checked(subject_token, subject_token_type, "subject_token")
    requested = parse_scope(scope)
    subject_agent = subject.agent
    assert subject_agent is not None
    if subject_agent.pk != agent.pk:
        refuse_if_quarantined(subject_agent, as_subject=True)
    if actor_token:
        actor = _checked(actor_token, actor_token_type, "actor_token")
        exchange = _delegated_token(agent, subject, actor)
    else:
        exchange = _task_token(agent, subject, workflow_run)

    run_id = exchange.run_id
    if workflow_run:
        if run_id and workflow_run != run_id:
            raise OAuthError("invalid_grant", "subject_token is bound to another workflow run")
        run_id = workflow_run
    run = _run(run_id, client=agent, subject=subject_agent) if run_id else None
    ceilings = list(exchange.ceilings)
    if run is not None and run.deadline is not None:
        ceilings.append(int(run.deadline.timestamp()))

    if requested is not None and not requested <= exchange.scopes:
        raise OAuthError("invalid_scope", "the requested scope exceeds what may be delegated")
    scopes = sorted(requested if requested is not None else exchange.scopes)
    if not scopes:
        raise OAuthError("invalid_scope", "no scope is left after the intersection")
    subject_aud = subject.claims.get("aud")
    aud = audiences(
        resources or [],
        [subject_aud] if isinstance(subject_aud, str) else list(subject_aud or []),
    )
    now = int(timezone.now().timestamp())
    # An exchanged token never outlives its subject, actor or run: that is also what makes
    # pruning a revoked ancestor's row safe once it has expired.
    exp = min([now + token_lifetime(), *ceilings])
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
        "agent_version": version_label(subject_agent),
        "cred": client.credential.pk,
        "anc": {
            "jti": list(dict.fromkeys(exchange.anc_jtis)),
            "cred": [c for c in dict.fromkeys(exchange.anc_creds) if c],
        },
    }
    if run is not None:
        claims["workflow_run"] = run.run_id
    if exchange.act:
        claims["act"] = exchange.act
    token = sign(claims)
    audit_issue(
        client,
        actor=agent.principal,
        action=exchange.action,
        resource=" ".join(aud)[:300],
        target_type="access_token",
        target_id=jti,
        token_jti=jti,
        credential_id=client.credential.pk,
        workflow_run=run.run_id if run else "",
        on_behalf_of=exchange.on_behalf_of,
        changes={
            "grant_type": GRANT_TYPE,
            "auth_method": client.method,
            "subject_jti": subject.jti,
            "actor_jti": exchange.actor_jti,
            "scope": claims["scope"],
            "aud": aud,
            "exp": exp,
            "act": exchange.act,
        },
    )
    return IssuedToken(
        access_token=token,
        expires_in=exp - now,
        scope=claims["scope"],
        jti=jti,
        issued_token_type=TOKEN_TYPE_ACCESS,
    )
