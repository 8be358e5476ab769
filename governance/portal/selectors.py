"""Reads composed for the portal's pages, each a fixed number of queries whatever the size.

The agent page's query count does not grow with the number of agents, grants, credentials or
audit entries: every list is one query with its joins and a bound.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from agents.drift.selectors import agent_configurations
from agents.drift.services import may_review_configuration
from agents.models import Agent, Scope
from agents.permissions import can_contain_agent, can_manage_agent
from audit.models import AuditEntry
from credentials.models import Credential
from trust.attestations.selectors import agent_attestations
from trust.usage.selectors import usage_evidence

from ..reviews.selectors import connection_rows
from .sentences import sentence

HISTORY = 20
VERSIONS = 10
CREDENTIALS = 20
ATTESTATIONS = 20
CONFIGURATIONS = 10


def agent_page(agent: Agent, user) -> dict[str, Any]:
    """Everything the agent page shows, for this user."""
    now = timezone.now()
    may_manage = can_manage_agent(user, agent)
    live = agent.status != Agent.Status.DECOMMISSIONED
    history = list(
        AuditEntry.objects.filter(resource=agent.principal).order_by("-created_at", "-id")[:HISTORY]
    )
    return {
        "agent": agent,
        "may_manage": may_manage and live,
        "may_contain": can_contain_agent(user, agent),
        **_usage(agent, now),
        "connections": agent.connections.select_related("resource").order_by("resource__name"),
        "versions": agent.versions.order_by("-created_at")
        .select_related("reviewed_by")
        .prefetch_related(Prefetch("requested_scopes", queryset=Scope.objects.order_by("name")))[
            :VERSIONS
        ],
        "history": [(entry, sentence(entry, subject=agent.principal)) for entry in history],
        "attestations": agent_attestations(agent, at=now, limit=ATTESTATIONS),
        **configurations(agent, user),
        "now": now,
    }


def configurations(agent: Agent, user) -> dict[str, Any]:
    """The agent's observed configurations (drift), the most recently seen first, and
    whether this user may review them (the review service's own rule)."""
    rows = agent_configurations(agent.pk, limit=CONFIGURATIONS)
    return {
        "configurations": rows[:CONFIGURATIONS],
        "configurations_more": len(rows) > CONFIGURATIONS,
        "may_review_configuration": may_review_configuration(user, agent),
    }


def _usage(agent: Agent, now) -> dict[str, Any]:
    """Grants, credentials and connections, each with its use as the audit log's aggregator
    knows it (one read of the evidence for the whole page)."""
    evidence = usage_evidence(agent_ids=[agent.pk], now=now)
    grants = agent.grants.active().select_related("scope", "granted_by").order_by("scope__name")
    credentials = Credential.objects.filter(agent=agent).order_by("-created_at")[:CREDENTIALS]
    return {
        "grants": [(g, evidence.grant(agent.pk, g.scope.name)) for g in grants],
        "credentials": [(c, evidence.credential(c.pk)) for c in credentials],
        "usage_as_of": evidence.as_of,
        "connection_usage": {
            "as_of": evidence.as_of,
            "connections": connection_rows(agent, evidence),
        },
    }
