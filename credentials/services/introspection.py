"""Introspection (RFC 7662): a resource server asks whether a token is good right now."""

from __future__ import annotations

from typing import Any

from agents.models import Resource

from ..token_check import check_access_token
from .access_tokens import audit_issue


def aud_list(claims: dict[str, Any]) -> list[str]:
    """A token's ``aud`` claim as a list (RFC 7519 allows one string)."""
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in (aud or []) if isinstance(a, str)]


def token_introspect(*, caller: Resource, token: str) -> dict[str, Any]:
    """RFC 7662 for a resource server: the live verdict, the act chain, run and trust level."""
    check = check_access_token(token)
    active = check.active and caller.audience in aud_list(check.claims)
    reason = check.reason or ("" if active else "not_an_audience")
    audit_issue(
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
