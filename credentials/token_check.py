"""Access tokens: the one check every enforcement point uses, and the claims we issue.

``check_access_token`` is the single source of truth for "is this access token good right now".
Introspection, the decision point and our own API all call it, so no path accepts what another
rejects. It verifies the JWS with the key's pinned algorithm and the registered claims, then
reads everything that can end a token early in ONE query: the agent's status, the status of
every actor in the delegation chain, every credential the chain was issued with, revoked
``jti``s (the token's own and its ancestors', so revoking a token ends every token exchanged
from it), the workflow run, and the live grants of the subject and of every actor. The scopes
a check reports are the token's ``scope`` intersected with those grants: a grant revoked after
issuance is gone from the very next check (and a token left with none of its scopes is
inactive, ``scope_revoked``). Nothing is cached across requests, so a suspension or revocation
is seen by every server process on the very next call.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jwt
from django.conf import settings
from django.db import connection

from agents.models import Agent, Scope, ScopeGrant, WorkflowRun

from . import process_caches
from .epoch import timestamp
from .models import Credential, RevokedToken
from .signing import verification_key, verify_jws
from .sql import json_agg, json_list, literal, load, q, table

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
    # ``scopes`` are the token's scopes still granted to its subject and every actor (all of
    # them when inactive); ``claimed_scopes`` what its ``scope`` claim says.
    claimed_scopes: frozenset[str] = frozenset()
    # The earliest moment time alone ends a grant read for ``scopes`` (a timestamp): a
    # per-process cache of this check must not outlive it.
    valid_until: float = float("inf")

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


# Verified signatures, keyed by (token, audience, issuer): a signature check is pure, so a
# token seen before need not be parsed and verified again. Only successes are kept; a hit
# re-checks what can change with time or configuration (the key is still published with the
# same algorithm, exp/nbf/iat against the system clock, as PyJWT checks them on a miss). Live
# state (revocation, suspension, run) is never cached here: ``_live_state`` reads it on every
# call. A process cache (``process_caches``: forgotten with the others, off with them).
_VERIFIED: OrderedDict[tuple[str, str | None, str], tuple[str, str, dict[str, Any]]] = OrderedDict()
_VERIFIED_MAX = 4096
_verified_lock = threading.Lock()


def _forget_verified() -> None:
    with _verified_lock:
        _VERIFIED.clear()


process_caches.register("credentials.verified_signatures", _forget_verified)


def _verified_hit(token: str, audience: str | None) -> tuple[dict[str, Any] | None, str] | None:
    """The cached verdict on a token verified before, re-checked now; None if not cached."""
    if not process_caches.enabled():
        return None
    entry = _VERIFIED.get((token, audience, settings.OAUTH_ISSUER))
    if entry is None:
        return None
    kid, algorithm, claims = entry
    loaded = verification_key(kid)
    if loaded is None or loaded.algorithm != algorithm:
        return None  # the key was withdrawn: verify from scratch (and fail there)
    now = time.time()
    if int(claims["exp"]) <= now - LEEWAY_SECONDS:
        return None, "expired"
    for name in ("nbf", "iat"):
        if name in claims and int(claims[name]) > now + LEEWAY_SECONDS:
            return None, "not_yet_valid"
    return dict(claims), ""


def _verified_keep(token: str, audience: str | None, claims: dict[str, Any]) -> None:
    if not process_caches.enabled():
        return
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        return
    loaded = verification_key(header.get("kid")) if isinstance(header.get("kid"), str) else None
    if loaded is None:
        return
    with _verified_lock:
        _VERIFIED[(token, audience, settings.OAUTH_ISSUER)] = (
            header["kid"],
            loaded.algorithm,
            dict(claims),
        )
        while len(_VERIFIED) > _VERIFIED_MAX:
            _VERIFIED.popitem(last=False)


def verify_signature_and_claims(
    token: str, *, audience: str | None = None
) -> tuple[dict[str, Any] | None, str]:
    """Verify the JWS and its registered claims only (no database state): (claims, reason)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None, "malformed"
    hit = _verified_hit(token, audience)
    if hit is not None:
        return hit
    claims, reason = _verify_uncached(token, audience=audience)
    if claims is not None:
        _verified_keep(token, audience, claims)
    return claims, reason


def _verify_uncached(
    token: str, *, audience: str | None = None
) -> tuple[dict[str, Any] | None, str]:
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


@dataclass(frozen=True)
class _State:
    revoked: bool
    bad_cred: bool
    bad_actor: bool
    run_open: bool
    grants: frozenset[tuple[str, str]] = frozenset()  # (agent slug, scope name), live
    grants_until: float = float("inf")


@lru_cache(maxsize=256)
def _state_sql(n_jtis: int, n_creds: int, n_actors: int, with_run: bool) -> str:
    """The one query, by shape. Hand-written: the ORM would spend longer building it on every
    call than the database spends running it (``docs/oauth.md``, "Performance")."""
    agent_cols = ", ".join(f"a.{q(c)}" for c in _AGENT_COLUMNS)

    def marks(n: int) -> str:
        return ", ".join(["%s"] * n)

    # Only names from model metadata, our enums' constants and %s placeholders go into the string.
    active_grant = literal(ScopeGrant.Status.ACTIVE)
    revoked = (
        f"EXISTS (SELECT 1 FROM {table(RevokedToken)} "  # noqa: S608
        f"WHERE {q('jti')} IN ({marks(n_jtis)}))"
    )
    bad_cred = (
        f"EXISTS (SELECT 1 FROM {table(Credential)} WHERE {q('id')} IN ({marks(n_creds)}) "  # noqa: S608
        f"AND ({q('status')} NOT IN ({literal(*Credential.USABLE)}) "
        f"OR ({q('expires_at')} IS NOT NULL AND {q('expires_at')} <= %s)))"
        if n_creds
        else "0"
    )
    bad_actor = (
        f"EXISTS (SELECT 1 FROM {table(Agent)} WHERE {q('slug')} IN ({marks(n_actors)}) "  # noqa: S608
        f"AND {q('status')} <> {literal(Agent.Status.ACTIVE)})"
        if n_actors
        else "0"
    )
    run_open = (
        f"(SELECT CASE WHEN {q('status')} = {literal(WorkflowRun.Status.RUNNING)} "  # noqa: S608
        f"AND ({q('deadline')} IS NULL OR {q('deadline')} > %s) "
        f"THEN 1 ELSE 0 END FROM {table(WorkflowRun)} WHERE {q('run_id')} = %s)"
        if with_run
        else "1"
    )
    # The live grants of the subject (``a``, correlated on the grant's agent index), those of
    # the actors as "slug name" strings (only when there are actors), and the first moment one
    # of them lapses by time.
    live = (
        f"g.{q('status')} = {active_grant} "
        f"AND (g.{q('expires_at')} IS NULL OR g.{q('expires_at')} > %s)"
    )
    actor_ids = (
        f"g.{q('agent_id')} IN (SELECT {q('id')} FROM {table(Agent)} "  # noqa: S608
        f"WHERE {q('slug')} IN ({marks(n_actors)}))"
    )
    on_scope = f"JOIN {table(Scope)} s ON s.{q('id')} = g.{q('scope_id')}"
    grants = (
        f"(SELECT {json_agg('s.' + q('name'))} FROM {table(ScopeGrant)} g "  # noqa: S608
        f"{on_scope} WHERE g.{q('agent_id')} = a.{q('id')} AND {live})"
    )
    pair = f"ga.{q('slug')} || ' ' || s.{q('name')}"
    actor_grants = (
        f"(SELECT {json_agg(pair)} FROM {table(ScopeGrant)} g {on_scope} "  # noqa: S608
        f"JOIN {table(Agent)} ga ON ga.{q('id')} = g.{q('agent_id')} "
        f"WHERE {actor_ids} AND {live})"
        if n_actors
        else "NULL"
    )
    holders = (
        f"(g.{q('agent_id')} = a.{q('id')} OR {actor_ids})"
        if n_actors
        else (f"g.{q('agent_id')} = a.{q('id')}")
    )
    grants_until = (
        f"(SELECT MIN(g.{q('expires_at')}) FROM {table(ScopeGrant)} g "  # noqa: S608
        f"WHERE {holders} AND g.{q('status')} = {active_grant} AND g.{q('expires_at')} > %s)"
    )
    return (
        f"SELECT {agent_cols}, {revoked}, {bad_cred}, {bad_actor}, {run_open}, "  # noqa: S608
        f"{grants}, {actor_grants}, {grants_until} FROM {table(Agent)} a "
        f"WHERE a.{q('slug')} = %s"
    )


_AGENT_COLUMNS = [f.column for f in Agent._meta.concrete_fields]


def _live_state(
    sub: str, jtis: list[str], creds: list[str], actors: list[str], run: str
) -> tuple[Agent | None, _State]:
    """The agent row and every live fact that can end the token early, in ONE query."""
    now = connection.ops.adapt_datetimefield_value(process_caches.now())
    sql = _state_sql(len(jtis), len(creds), len(actors), bool(run))
    params: list[Any] = [*jtis]
    if creds:
        params += [*creds, now]
    params += actors
    if run:
        params += [now, run]
    params.append(now)
    if actors:
        params += [*actors, now]
    params += [*actors, now, sub]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, _State(False, False, False, False)
    n = len(_AGENT_COLUMNS)
    agent = load(Agent, row[:n])
    revoked, bad_cred, bad_actor, run_open, grants, actor_grants, grants_until = row[n:]
    pairs = frozenset(
        [(sub, name) for name in json_list(grants)]
        + [tuple(g.split(" ", 1)) for g in json_list(actor_grants)]
    )
    return agent, _State(
        bool(revoked),
        bool(bad_cred),
        bool(bad_actor),
        bool(run_open),
        pairs,
        timestamp(grants_until),
    )


def _live_scopes(scopes: frozenset[str], state: _State, holders: list[str]) -> frozenset[str]:
    """The token's scopes that every holder (the subject and each actor) is still granted."""
    live = set(scopes)
    for holder in holders:
        live &= {name for slug, name in state.grants if slug == holder}
    return frozenset(live)


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
    common = {
        "jti": jti,
        "credential_id": cred,
        "workflow_run": run,
        "act_chain": chain,
        "claimed_scopes": scopes,
    }

    creds = [c for c in [cred, *anc_creds] if c]
    actors = [p.split(":", 1)[1] for p in chain]
    agent, state = _live_state(claims["sub"], [jti, *anc_jtis], creds, actors, run)
    if agent is None:
        return _inactive("agent_inactive", claims, scopes=scopes, **common)
    if not creds:
        return _inactive("malformed", claims, agent=agent, scopes=scopes, **common)
    if state.revoked:
        return _inactive("token_revoked", claims, agent=agent, scopes=scopes, **common)
    if agent.status != Agent.Status.ACTIVE:
        return _inactive("agent_inactive", claims, agent=agent, scopes=scopes, **common)
    if state.bad_actor:
        return _inactive("actor_inactive", claims, agent=agent, scopes=scopes, **common)
    if state.bad_cred:
        return _inactive("credential_revoked", claims, agent=agent, scopes=scopes, **common)
    if run and not state.run_open:
        return _inactive("run_closed", claims, agent=agent, scopes=scopes, **common)
    live = _live_scopes(scopes, state, [claims["sub"], *actors])
    if scopes and not live:
        return _inactive("scope_revoked", claims, agent=agent, scopes=live, **common)
    return TokenCheck(
        active=True,
        claims=claims,
        agent=agent,
        scopes=live,
        valid_until=state.grants_until,
        **common,
    )
