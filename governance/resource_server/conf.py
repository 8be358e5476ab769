"""The resource server's ``AGENT_GOVERNANCE`` setting, read once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .client import DecisionPointClient
from .jwks import JWKSCache

DEFAULT_ACTIONS = {
    "GET": "read",
    "HEAD": "read",
    "OPTIONS": "read",
    "POST": "write",
    "PUT": "write",
    "PATCH": "write",
    "DELETE": "delete",
}


@dataclass(frozen=True)
class Governance:
    issuer: str
    audience: str
    resource: str
    jwks: JWKSCache
    client: DecisionPointClient
    actions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    path_prefixes: tuple[str, ...] = ("/",)


@functools.cache
def _build(key: tuple) -> Governance:
    conf = dict(key)
    missing = [
        k
        for k in ("ISSUER", "AUDIENCE", "RESOURCE", "CLIENT_ID", "CLIENT_SECRET")
        if not conf.get(k)
    ]
    if missing:
        raise ImproperlyConfigured(f"AGENT_GOVERNANCE is missing {', '.join(missing)}")
    issuer = conf["ISSUER"].rstrip("/")
    return Governance(
        issuer=issuer,
        audience=conf["AUDIENCE"],
        resource=conf["RESOURCE"],
        jwks=JWKSCache(conf.get("JWKS_URL") or f"{issuer}/.well-known/jwks.json"),
        client=DecisionPointClient(
            issuer, client_id=conf["CLIENT_ID"], client_secret=conf["CLIENT_SECRET"]
        ),
        actions={**DEFAULT_ACTIONS, **dict(conf.get("ACTIONS") or {})},
        path_prefixes=tuple(conf.get("PATH_PREFIXES") or ("/",)),
    )


def governance() -> Governance:
    conf = getattr(settings, "AGENT_GOVERNANCE", None)
    if not isinstance(conf, dict):
        raise ImproperlyConfigured("set AGENT_GOVERNANCE to use the resource-server helper")
    frozen = tuple(
        sorted(
            (
                k,
                tuple(sorted(v.items()))
                if isinstance(v, dict)
                else tuple(v)
                if isinstance(v, list)
                else v,
            )
            for k, v in conf.items()
        )
    )
    return _build(frozen)
