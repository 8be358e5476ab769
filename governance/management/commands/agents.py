"""``manage.py agents``: script the registry from a shell, a thin layer over the services.

It lives in ``governance`` rather than ``agents`` because ``create --with-secret`` calls the
credentials service, and only ``governance`` may import apps to the left of ``agents``.

    manage.py agents create --team finance-ops --slug invoice-bot --purpose "…" --json
    manage.py agents create … --with-secret --json   # plus client_id and the one-time secret
    manage.py agents create … --scope deploy:read    # and grant it (the purpose justifies it)
    manage.py agents list [--team T] [--status S] [--json]
    manage.py agents show SLUG [--json]
    manage.py agents suspend|reactivate|decommission SLUG [--reason R] [--by USER] [--json]
    manage.py agents configs SLUG [--unreviewed] [--json]     # observed configurations (drift)
    manage.py agents review-config SLUG DIGEST --reason R [--by USER] [--json]

``--by USER`` names the person acting, audited as ``user:USER`` and held to the same checks as
the portal (``agents.permissions``); without it the change is audited as ``system``. Errors exit
non-zero with a message on stderr and change nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agents import services
from agents.drift import selectors as drift_selectors
from agents.drift.services import configuration_review
from agents.errors import RegistryError
from agents.models import Agent, Scope, Team
from agents.permissions import can_contain_agent, can_manage_agent, can_manage_team
from credentials.errors import CredentialError
from credentials.services import credential_issue
from governance.management.acting import acting_user

# action → (service, may the acting user do it?); suspend is containment, open to reviewers.
LIFECYCLE = {
    "suspend": (services.agent_suspend, can_contain_agent),
    "reactivate": (services.agent_reactivate, can_manage_agent),
    "decommission": (services.agent_decommission, can_manage_agent),
}


def agent_as_dict(agent: Agent) -> dict[str, Any]:
    """The public view of an agent: nothing secret, stable keys for scripts."""
    version = agent.current_version
    return {
        "slug": agent.slug,
        "client_id": agent.slug,
        "display_name": agent.display_name,
        "purpose": agent.purpose,
        "owner_team": agent.owner_team.slug,
        "status": agent.status,
        "status_reason": agent.status_reason,
        "trust_score": agent.trust_score,
        "trust_level": agent.trust_level,
        "current_version": version.label if version else None,
        "created_at": agent.created_at.isoformat(),
    }


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in sorted(exc.message_dict.items())
        )
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


class Command(BaseCommand):
    help = "Create, list, show, suspend, reactivate and decommission agents."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        def common(p, *, acting: bool = True):
            p.add_argument("--json", action="store_true", help="print JSON")
            if acting:
                p.add_argument("--by", metavar="USERNAME", help="the person acting (audited)")

        create = sub.add_parser("create", help="register an agent for a team")
        create.add_argument("--team", required=True, help="owning team slug")
        create.add_argument("--slug", required=True, help="agent slug (its client_id)")
        create.add_argument("--purpose", required=True)
        create.add_argument("--display-name", default="")
        create.add_argument("--version-label", default="", help="record a first version")
        create.add_argument("--config-digest", default="", help="sha256:<hex> of its config")
        create.add_argument(
            "--scope",
            action="append",
            default=[],
            metavar="NAME",
            help="grant this scope too (repeatable), through the same service as the portal",
        )
        create.add_argument(
            "--justification", default="", help="why the scopes are granted (default: --purpose)"
        )
        create.add_argument(
            "--with-secret",
            action="store_true",
            help="also issue a client secret and print it (the only time it is ever shown)",
        )
        common(create)

        lst = sub.add_parser("list", help="list agents")
        lst.add_argument("--team", help="only this team's agents")
        lst.add_argument("--status", choices=[s.value for s in Agent.Status])
        common(lst, acting=False)

        show = sub.add_parser("show", help="show one agent")
        show.add_argument("slug")
        common(show, acting=False)

        configs = sub.add_parser("configs", help="configurations an agent presented (drift)")
        configs.add_argument("slug")
        configs.add_argument("--unreviewed", action="store_true", help="only unreviewed ones")
        common(configs, acting=False)

        review = sub.add_parser("review-config", help="review an observed configuration")
        review.add_argument("slug")
        review.add_argument("digest", help="sha256:<64 hex digits>")
        review.add_argument("--reason", required=True, help="what was checked")
        common(review)

        for name in LIFECYCLE:
            p = sub.add_parser(name, help=f"{name} an agent")
            p.add_argument("slug")
            p.add_argument("--reason", default="")
            common(p)

    def handle(self, *args, **options):
        action = options["action"]
        try:
            if action == "create":
                result = self._create(options)
            elif action == "list":
                result = self._list(options)
            elif action == "show":
                result = agent_as_dict(self._agent(options["slug"]))
            elif action in ("configs", "review-config"):
                rows = self._configs(action, options)
                if options["json"]:
                    self.stdout.write(json.dumps(rows, indent=2, sort_keys=True))
                for row in [] if options["json"] else rows:
                    state = (
                        f"reviewed by {row['reviewed_by']}" if row["reviewed_at"] else "unreviewed"
                    )
                    self.stdout.write(f"{row['digest']}  last seen {row['last_seen_at']}  {state}")
                return
            else:
                result = self._lifecycle(action, options)
        except (RegistryError, CredentialError, ValidationError) as exc:
            raise CommandError(_error_text(exc)) from exc
        self._emit(result, as_json=options["json"])

    # -- actions -------------------------------------------------------------------------------

    def _create(self, options) -> dict[str, Any]:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"no team with slug {options['team']!r}")
        by = acting_user(options.get("by"))
        if by is not None and not can_manage_team(by, team.pk):
            raise CommandError(f"user {by.username!r} may not manage agents of team {team.slug!r}")
        if Agent.objects.filter(slug=options["slug"]).exists():
            raise CommandError(f"an agent with slug {options['slug']!r} already exists")
        if options["version_label"] and not options["config_digest"]:
            raise CommandError("--version-label needs --config-digest")
        scopes = []
        for name in options["scope"]:
            scope = Scope.objects.filter(name=name).first()
            if scope is None:
                raise CommandError(f"no scope named {name!r}")
            scopes.append(scope)
        # One transaction: an agent whose secret could not be issued is not left behind.
        with transaction.atomic():
            agent = services.agent_register(
                slug=options["slug"],
                display_name=options["display_name"] or options["slug"].replace("-", " ").title(),
                purpose=options["purpose"],
                owner_team=team,
                by=by,
                version_label=options["version_label"],
                config_digest=options["config_digest"],
            )
            for scope in scopes:
                services.scope_grant(
                    agent=agent,
                    scope=scope,
                    justification=options["justification"] or options["purpose"],
                    by=by,
                )
            result = agent_as_dict(agent)
            result["scopes"] = [scope.name for scope in scopes]
            if options["with_secret"]:
                issued = credential_issue(agent=agent, by=by, label="manage.py agents create")
                result["credential"] = {
                    "id": issued.credential.pk,
                    "kind": issued.credential.kind,
                    "client_id": issued.client_id,
                    "client_secret": issued.secret,
                    "expires_at": issued.credential.expires_at.isoformat()
                    if issued.credential.expires_at
                    else None,
                }
        return result

    def _list(self, options) -> list[dict[str, Any]]:
        agents = Agent.objects.select_related("owner_team", "current_version")
        if options.get("team"):
            if not Team.objects.filter(slug=options["team"]).exists():
                raise CommandError(f"no team with slug {options['team']!r}")
            agents = agents.filter(owner_team__slug=options["team"])
        if options.get("status"):
            agents = agents.filter(status=options["status"])
        return [agent_as_dict(a) for a in agents.order_by("slug")]

    def _lifecycle(self, action: str, options) -> dict[str, Any]:
        agent = self._agent(options["slug"])
        service, allowed = LIFECYCLE[action]
        by = acting_user(options.get("by"))
        if by is not None and not allowed(by, agent):
            raise CommandError(f"user {by.username!r} may not {action} agent {agent.slug!r}")
        service(agent=agent, by=by, reason=options["reason"])
        return agent_as_dict(self._agent(options["slug"]))

    def _configs(self, action: str, options) -> list[dict[str, Any]]:
        agent = self._agent(options["slug"])
        rows = agent.observed_configurations.select_related("reviewed_by")
        if action == "review-config":
            observed = rows.filter(digest=options["digest"]).first()
            if observed is None:
                raise CommandError(f"agent {agent.slug!r} never presented {options['digest']!r}")
            by = acting_user(options.get("by"))
            configuration_review(observed=observed, by=by, reason=options["reason"])
            rows = rows.filter(pk=observed.pk)
        elif options["unreviewed"]:
            rows = drift_selectors.unreviewed(rows)
        return [
            {
                "agent": agent.slug,
                "digest": row.digest,
                "first_seen_at": row.first_seen_at.isoformat(),
                "last_seen_at": row.last_seen_at.isoformat(),
                "reviewed_at": row.reviewed_at.isoformat() if row.reviewed_at else None,
                "reviewed_by": row.reviewed_by.username if row.reviewed_by else None,
                "review_reason": row.review_reason,
            }
            for row in rows.order_by("first_seen_at", "pk")
        ]

    # -- helpers -------------------------------------------------------------------------------

    def _agent(self, slug: str) -> Agent:
        agent = (
            Agent.objects.select_related("owner_team", "current_version").filter(slug=slug).first()
        )
        if agent is None:
            raise CommandError(f"no agent with slug {slug!r}")
        return agent

    def _emit(self, result, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(result, indent=2, sort_keys=True))
            return
        rows = result if isinstance(result, list) else [result]
        for row in rows:
            self.stdout.write(
                f"{row['slug']:<32} {row['status']:<15} {row['trust_level']:<10} "
                f"{row['owner_team']:<20} {row['current_version'] or '-'}"
            )
            if "credential" in row:
                cred = row["credential"]
                self.stdout.write(f"  client_id:     {cred['client_id']}")
                self.stdout.write(f"  client_secret: {cred['client_secret']}  (shown once)")
        if isinstance(result, list) and not result:
            self.stdout.write("no agents")
