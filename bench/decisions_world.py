"""Shared set-up of the decision benchmarks: one resource server, one trusted agent, a token.

Made through the services (as production would), idempotent so runs can repeat.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    import django

    django.setup()


@dataclass
class BenchWorld:
    resource_id: int
    resource_slug: str
    rs_client_id: str
    rs_secret: str
    token: str


def make_world(slug: str = "bench-ledger") -> BenchWorld:
    from agents import services as registry
    from agents.models import Agent, Connection, Resource, Scope, ScopeGrant, Team
    from credentials import services as cred
    from credentials.client_auth import ClientPrincipal
    from credentials.services import token_issue
    from trust.services import trust_level_set

    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    resource, _ = Resource.objects.get_or_create(
        slug=slug, defaults={"name": "Bench ledger", "audience": f"https://{slug}.bench.test"}
    )
    scope, _ = Scope.objects.get_or_create(
        name=f"{slug}:read", defaults={"resource": resource, "action": "read"}
    )
    agent = Agent.objects.filter(slug="bench-agent").first() or registry.agent_register(
        slug="bench-agent", display_name="Bench agent", purpose="Benchmarks.", owner_team=team
    )
    if not ScopeGrant.objects.active().filter(agent=agent, scope=scope).exists():
        registry.scope_grant(agent=agent, scope=scope, justification="bench")
    Connection.objects.update_or_create(
        agent=agent,
        resource=resource,
        defaults={
            "allowed_actions": ["read"],
            # Generous limits: counted on every decision, never reached during a run.
            "rate_limit": 10_000_000,
            "rate_window_seconds": 3600,
            "budget_cap": 10_000_000,
        },
    )
    trust_level_set(agent=agent, score=90, level="trusted", reason="bench", by="system")
    rs = cred.credential_issue(resource=resource, by="system", label="bench")
    agent_cred = cred.credential_issue(agent=agent, by="system", label="bench").credential
    token = token_issue(
        client=ClientPrincipal(credential=agent_cred, method="client_secret_basic"),
        resources=[resource.audience],
    ).access_token
    return BenchWorld(
        resource_id=resource.pk,
        resource_slug=resource.slug,
        rs_client_id=resource.slug,
        rs_secret=rs.secret,
        token=token,
    )
