"""``manage.py demo_data``: a believable organisation, created through the services.

Idempotent: every object is looked up by its natural key and created only if missing, and the
one-off steps (lifecycle changes, seeded usage histories, run outcomes) happen only when the
object is first created, so a second run adds no rows and no audit entries, and leaves alone
whatever someone has changed since. Everything goes through the services of ``agents``,
``credentials`` and ``trust``, so the audit log tells the true story of how the organisation
came to be.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from agents import services
from agents.models import (
    Agent,
    AgentVersion,
    Connection,
    Resource,
    Scope,
    ScopeGrant,
    Team,
    Workflow,
    WorkflowRun,
)
from agents.permissions import ROLES
from audit.principals import SYSTEM

from ._demo_org import AGENTS, CREDENTIALS, PEOPLE, RESOURCES, SCOPES, TEAMS, WORKFLOWS
from ._demo_usage import seed_and_compute

DEFAULT_PASSWORD = "demo-portal-2026"
SHORT_GRANT_SECONDS = 90  # long enough to see it active, short enough to watch beat expire it


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD


class Command(BaseCommand):
    help = "Create (or complete) the demo organisation. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=None,
            help=f"password for new demo users (default: $DEMO_PASSWORD or {DEFAULT_PASSWORD})",
        )

    def handle(self, *args, **options):
        self.password = options["password"] or demo_password()
        self.created: dict[str, int] = {}
        with transaction.atomic():
            self.users = self._people()
            self.admin = self.users["admin"]
            self.teams = self._teams()
            self.resources = self._resources()
            self.scopes = self._scopes()
            self.fresh: dict[str, Agent] = {}
            for spec in AGENTS:
                self._agent(spec)
            self._workflows()
            # Trust comes from the engine, from the histories the demo seeds (once, for the
            # agents this run created).
            seed_and_compute([spec for spec in AGENTS if spec["slug"] in self.fresh], self.fresh)
        made = ", ".join(f"{n} {kind}" for kind, n in self.created.items() if n) or "nothing"
        self.stdout.write(f"demo data: created {made}")
        self.stdout.write(
            f"demo users: {', '.join(PEOPLE)} (admin is the platform admin, reviewer the "
            "security reviewer)"
        )

    def _count(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1

    # -- people and teams ----------------------------------------------------------------------

    def _people(self) -> dict:
        User = get_user_model()
        groups = {role: Group.objects.get_or_create(name=role)[0] for role in ROLES}
        users = {}
        for username, (first, last, role, _teams) in PEOPLE.items():
            user = User.objects.filter(username=username).first()
            if user is None:
                # Users are Django's own model: no registry service creates them.
                user = User.objects.create_user(
                    username=username,
                    email=f"{username}@acme.example",
                    password=self.password,
                    first_name=first,
                    last_name=last,
                    is_staff=True,
                    is_superuser=role == "platform-admin",
                )
                user.groups.add(groups[role])
                self._count("users")
            users[username] = user
        return users

    def _teams(self) -> dict[str, Team]:
        teams = {}
        for slug, (name, description) in TEAMS.items():
            team = Team.objects.filter(slug=slug).first()
            if team is None:
                members = [self.users[u] for u, p in PEOPLE.items() if slug in p[3]]
                team = services.team_create(
                    slug=slug, name=name, description=description, members=members, by=self.admin
                )
                self._count("teams")
            teams[slug] = team
        return teams

    def _scopes(self) -> dict[str, Scope]:
        scopes = {}
        for name, (sensitivity, description) in SCOPES.items():
            scope = Scope.objects.filter(name=name).first()
            if scope is None:
                resource, action = name.split(":", 1)
                scope = services.scope_create(
                    resource=self.resources[resource],
                    action=action,
                    description=description,
                    sensitivity=sensitivity,
                    by=self.admin,
                )
                self._count("scopes")
            scopes[name] = scope
        return scopes

    def _resources(self) -> dict[str, Resource]:
        resources = {}
        for slug, (name, audience, team, sensitivity, description) in RESOURCES.items():
            resource = Resource.objects.filter(slug=slug).first()
            if resource is None:
                resource = services.resource_create(
                    slug=slug,
                    name=name,
                    audience=audience,
                    owner_team=self.teams[team],
                    sensitivity=sensitivity,
                    description=description,
                    by=self.admin,
                )
                self._count("resources")
            resources[slug] = resource
        return resources

    # -- agents --------------------------------------------------------------------------------

    def _agent(self, spec: dict) -> None:
        owner = self.users[spec["by"]]
        agent = Agent.objects.filter(slug=spec["slug"]).first()
        fresh = agent is None
        label, reviewed = spec["version"]
        if fresh:
            requested = [self.scopes[g[0]] for g in spec["grants"]]
            config = json.dumps({"agent": spec["slug"], "version": label}, sort_keys=True)
            agent = services.agent_register(
                slug=spec["slug"],
                display_name=spec["name"],
                purpose=spec["purpose"],
                owner_team=self.teams[spec["team"]],
                by=owner,
                version_label=label,
                config_digest="sha256:" + hashlib.sha256(config.encode()).hexdigest(),
                requested_scopes=requested,
            )
            self._count("agents")
            if reviewed:
                version = AgentVersion.objects.get(agent=agent, label=label)
                services.agent_version_review(version=version, by=self.users["reviewer"])
        for scope_name, justification, days, granted_by in spec["grants"]:
            # Any grant row, even an expired one, means this step already ran.
            if ScopeGrant.objects.filter(agent=agent, scope__name=scope_name).exists():
                continue
            if not agent.is_active:
                continue
            if days == "short":
                expires = timezone.now() + dt.timedelta(seconds=SHORT_GRANT_SECONDS)
            else:
                expires = timezone.now() + dt.timedelta(days=days) if days else None
            self._grant(agent, self.scopes[scope_name], justification, expires, granted_by, owner)
            self._count("grants")
        for resource, actions, rate, budget, floor in spec["connections"]:
            if Connection.objects.filter(agent=agent, resource__slug=resource).exists():
                continue
            if agent.status == Agent.Status.DECOMMISSIONED:
                continue
            services.connection_create(
                agent=agent,
                resource=self.resources[resource],
                allowed_actions=actions,
                rate_limit=rate,
                rate_window_seconds=60,
                budget_cap=decimal.Decimal(budget) if budget else None,
                trust_floor=floor,
                by=owner,
            )
            self._count("connections")
        self._credential(agent, owner)
        if fresh:
            self.fresh[agent.slug] = agent
            status = spec.get("status")
            if status and status[0] == "suspended":
                services.agent_suspend(agent=agent, by=self.users["reviewer"], reason=status[1])
            elif status and status[0] == "decommissioned":
                services.agent_decommission(agent=agent, by=owner, reason=status[1])

    def _grant(self, agent, scope, justification, expires, granted_by, owner) -> None:
        """A low scope granted by the team; any other asked for by the team and approved by the
        reviewer (governed grants), as a real organisation would have to."""
        from governance.grants.services import grant_request_decide, grant_request_open

        if not scope.needs_request:
            services.scope_grant(
                agent=agent,
                scope=scope,
                justification=justification,
                by=self.users[granted_by],
                expires_at=expires,
            )
            return
        request = grant_request_open(
            agent=agent, scope=scope, justification=justification, by=owner, expires_at=expires
        )
        grant_request_decide(
            request=request,
            approve=True,
            by=self.users["reviewer"],
            comment="Reviewed with the team: the justification holds.",
        )

    def _credential(self, agent: Agent, owner) -> None:
        from credentials.models import Credential
        from credentials.services import credential_issue

        days = CREDENTIALS.get(agent.slug)
        if days is None or not agent.is_active:
            return
        if Credential.objects.filter(agent=agent).exists():
            return
        # The one-time secret is discarded on purpose: demo data prints no secrets. Issue a
        # fresh one with ``manage.py agents create --with-secret`` or the credentials API.
        credential_issue(
            agent=agent,
            by=owner,
            label="demo",
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        self._count("credentials")

    # -- workflows and runs --------------------------------------------------------------------

    def _workflows(self) -> None:
        for slug, (name, team, description, runs) in WORKFLOWS.items():
            workflow = Workflow.objects.filter(slug=slug).first()
            if workflow is None:
                workflow = services.workflow_create(
                    slug=slug,
                    name=name,
                    owner_team=self.teams[team],
                    description=description,
                    by=self.admin,
                )
                self._count("workflows")
            for run_id, triggered_by, outcome in runs:
                if WorkflowRun.objects.filter(run_id=run_id).exists():
                    continue
                run = services.run_start(
                    workflow=workflow,
                    run_id=run_id,
                    triggered_by=triggered_by,
                    # The owning team's active agents take part (only they may bind tokens).
                    participants=workflow.owner_team.agents.filter(status="active"),
                    by=SYSTEM,
                )
                self._count("runs")
                if outcome == "completed":
                    services.run_complete(run=run, by=SYSTEM, reason="all steps succeeded")
                elif outcome == "cancelled":
                    services.run_cancel(run=run, by=self.users["dan"], reason="release reverted")
