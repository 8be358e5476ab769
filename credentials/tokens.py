"""Access tokens: the one check every enforcement point uses, and the claims we issue.

``check_access_token`` is the single source of truth for "is this access token good right now".
Introspection, the decision point and our own API all call it, so no path accepts what another
rejects. It verifies the JWS with the key's pinned algorithm and the registered claims, then
reads everything that can end a token early in ONE query: the agent's status, the status of
every actor in the delegation chain, every credential the chain was issued with, revoked
``jti``s (the token's own and its ancestors', so revoking a token ends every token exchanged
from it) and the workflow run. Nothing is cached across requests, so a suspension or revocation
is seen by every server process on the very next call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import jwt
from django.conf import settings
from django.db.models import Exists, Q, Subquery
from django.utils import timezone

from agents.models import Agent, WorkflowRun

from .models import Credential, RevokedToken
from .signing import verify_jws

ACCESS_TOKEN_TYP = "at+jwt"
MAX_TOKEN_LENGTH = 8192
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class TokenCheck:
    """The verdict on one access token; ``reason`` is a machine code when inactive."""

    active: bool
    reason: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    agent: Agent | None = None
    scopes: frozenset[str] = frozenset()
    jti: str = ""
    credential_id: str = ""
    workflow_run: str = ""
    act_chain: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        return f"agent:{self.claims['sub']}" if self.claims.get("sub") else ""

    @property
    def client_id(self) -> str:
        return str(self.claims.get("client_id", ""))

    @property
    def expires_at(self) -> dt.datetime | None:
        exp = self.claims.get("exp")
        return dt.datetime.fromtimestamp(exp, tz=dt.UTC) if isinstance(exp, int) else None


def act_chain_of(act: Any) -> tuple[str, ...]:
    """Principals of a nested ``act`` claim, the current actor first (``agent:b``, …)."""
    chain: list[str] = []
    while isinstance(act, dict) and isinstance(act.get("sub"), str) and len(chain) < 32:
        chain.append(f"agent:{act['sub']}")
        act = act.get("act")
    return tuple(chain)


def ancestors_of(claims: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The ``jti``s and credential ids of the tokens this one was exchanged from."""
    anc = claims.get("anc")
    if not isinstance(anc, dict):
        return [], []
    jtis = [j for j in anc.get("jti", []) if isinstance(j, str)]
    creds = [c for c in anc.get("cred", []) if isinstance(c, str)]
    return jtis, creds


def _inactive(reason: str, claims: dict[str, Any] | None = None, **kw: Any) -> TokenCheck:
    return TokenCheck(active=False, reason=reason, claims=claims or {}, **kw)


def verify_signature_and_claims(
    token: str, *, audience: str | None = None
) -> tuple[dict[str, Any] | None, str]:
    """Verify the JWS and its registered claims only (no database state): (claims, reason)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None, "malformed"
    if token.count(".") != 2:
        return None, "malformed"
    options: dict[str, Any] = {"require": ["exp", "iat", "sub", "jti", "client_id", "iss"]}
    if audience is None:
        options["verify_aud"] = False
    try:
        claims = verify_jws(
            token,
            typ=ACCESS_TOKEN_TYP,
            issuer=settings.OAUTH_ISSUER,
            audience=audience,
            leeway=LEEWAY_SECONDS,
            options=options,
        )
    except jwt.ExpiredSignatureError:
        return None, "expired"
    except jwt.ImmatureSignatureError:
        return None, "not_yet_valid"
    except jwt.InvalidAudienceError:
        return None, "wrong_audience"
    except jwt.InvalidIssuerError:
        return None, "wrong_issuer"
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
        return None, "bad_signature"
    except jwt.InvalidTokenError:
        return None, "malformed"
    except (ValueError, TypeError):
        return None, "malformed"
    if not (isinstance(claims.get("sub"), str) and isinstance(claims.get("jti"), str)):
        return None, "malformed"
    return claims, ""


def check_access_token(token: str, *, audience: str | None = None) -> TokenCheck:
    """Is this access token good right now? Signature, claims and live state, in one query."""
    claims, reason = verify_signature_and_claims(token, audience=audience)
    if claims is None:
        return _inactive(reason)

    jti = claims["jti"]
    cred = claims.get("cred") if isinstance(claims.get("cred"), str) else ""
    run = claims.get("workflow_run") if isinstance(claims.get("workflow_run"), str) else ""
    chain = act_chain_of(claims.get("act"))
    anc_jtis, anc_creds = ancestors_of(claims)
    scope = claims.get("scope", "")
    scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    common = {"jti": jti, "credential_id": cred, "workflow_run": run, "act_chain": chain}

    now = timezone.now()
    creds = [c for c in [cred, *anc_creds] if c]
    actors = [p.split(":", 1)[1] for p in chain]
    annotations: dict[str, Any] = {
        "_revoked": Exists(RevokedToken.objects.filter(jti__in=[jti, *anc_jtis])),
        "_bad_cred": Exists(
            Credential.objects.filter(pk__in=creds).filter(
                ~Q(status__in=Credential.USABLE) | Q(expires_at__lte=now)
            )
        ),
    }
    if actors:
        annotations["_bad_actor"] = Exists(
            Agent.objects.filter(slug__in=actors).exclude(status=Agent.Status.ACTIVE)
        )
    if run:
        runs = WorkflowRun.objects.filter(run_id=run)
        annotations["_run_status"] = Subquery(runs.values("status")[:1])
        annotations["_run_deadline"] = Subquery(runs.values("deadline")[:1])
    agent = Agent.objects.filter(slug=claims["sub"]).annotate(**annotations).first()
    # The annotations run as subqueries of the agent row; a missing agent is inactive anyway.
    if agent is None:
        return _inactive("agent_inactive", claims, scopes=scopes, **common)
    if not creds:
        return _inactive("malformed", claims, agent=agent, scopes=scopes, **common)
    if agent._revoked:
        return _inactive("token_revoked", claims, agent=agent, scopes=scopes, **common)
    if agent.status != Agent.Status.ACTIVE:
        return _inactive("agent_inactive", claims, agent=agent, scopes=scopes, **common)
    if actors and agent._bad_actor:
        return _inactive("actor_inactive", claims, agent=agent, scopes=scopes, **common)
    if agent._bad_cred:
        return _inactive("credential_revoked", claims, agent=agent, scopes=scopes, **common)
    if run and (
        agent._run_status != WorkflowRun.Status.RUNNING
        or (agent._run_deadline is not None and agent._run_deadline <= now)
    ):
        return _inactive("run_closed", claims, agent=agent, scopes=scopes, **common)
    return TokenCheck(active=True, claims=claims, agent=agent, scopes=scopes, **common)
