"""Team A's objects of the kinds that landed after the isolation matrix's world: an access
review (campaign, item, lines), a grant request, a version's scope review, an observed
configuration, an attestor and its attestation, a trust pin and a computation in the agent's
trust history, a trust policy version, a connection waiting for team A's consent, a right on
team A given to one person, and usage facts. Each is made by the service that makes it in
production (``isolation_world.py`` adds them to the world; ``isolation_rules.py`` maps routes
to them)."""

from __future__ import annotations

from typing import Any

from guardian.shortcuts import assign_perm

from agents import services
from agents.drift.services import configuration_observed
from agents.models import Sensitivity
from audit.chain import sequence_pending
from governance.grants.services import grant_request_open
from governance.reviews.models import Campaign
from governance.reviews.services import review_campaign_open
from tests import factories as f
from tests.attestations.signers import ed25519_signer, register
from trust.attestations.services import attestation_submit
from trust.models import TrustComputation
from trust.policy import trust_policy_change
from trust.recompute import recompute_agents
from trust.services import trust_pin
from trust.usage.fold import usage_fold


def newer_objects(world: dict[str, Any], team_b) -> dict[str, Any]:
    agent, users = world["agent"], world["users"]
    manager, reviewer, admin = users["manager"], users["reviewer"], users["admin"]
    write = f.ScopeFactory(name="ledger:write", sensitivity=Sensitivity.HIGH)
    # Usage facts first, so the campaign's lines carry real evidence (the token issued to the
    # agent used its credential).
    sequence_pending()
    usage_fold()
    campaign = review_campaign_open(
        by=reviewer, coverage=Campaign.Coverage.TEAM, team=world["team"], name="matrix"
    )
    signer = ed25519_signer("matrix-audit")
    attestor = register(signer)
    attestation = attestation_submit(jws=signer.sign(agent))
    trust_policy_change(by=admin, reason="matrix", changes={"pin_max_days": 29})
    pin = trust_pin(agent=agent, level=agent.trust_level, reason="matrix", by=reviewer)
    recompute_agents([agent.pk])
    # Team B's agent asks to use team A's resource: team A's owners consent (or not).
    pending = services.connection_create(
        agent=f.AgentFactory(slug="agent-b2", owner_team=team_b),
        resource=world["resource"],
        allowed_actions=["read"],
        by=users["other"],
    )
    # A right on team A given to one person without joining it (agents/permissions.py).
    assign_perm("agents.view_team", f.UserFactory(username="carol"), world["team"])
    return {
        "campaign": campaign,
        "review_item": campaign.items.get(agent=agent),
        "grant_request": grant_request_open(
            agent=agent, scope=write, justification="matrix", by=manager
        ),
        "scope_review": services.agent_version_add(
            agent=agent,
            label="2.0.0",
            config_digest=f.digest("2.0.0"),
            requested_scopes=[world["scope"], write],
            by=manager,
        ),
        "observed": configuration_observed(agent=agent, digest=f.digest("drift"), via="matrix"),
        "attestor": attestor,
        "attestation": attestation,
        "trust_pin": pin,
        "trust_history": TrustComputation.objects.filter(agent=agent).latest("id"),
        "pending_connection": pending,
    }
