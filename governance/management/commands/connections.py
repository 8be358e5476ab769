"""``manage.py connections``: connections of agents to resources, and the resource owners' consent.

    manage.py connections list [--status pending] [--resource SLUG] [--json] --by U
    manage.py connections accept|decline ID [--comment "…"] [--json] --by U

``list`` shows the connections ``U`` may see: their teams' agents' and every connection to a
resource their teams own. ``accept`` and ``decline`` call ``connection_consent``, which lets only
a manager of the resource's team (or a platform admin) consent; its refusal exits non-zero with
the service's message and changes nothing. A connection ``U`` may not see is "no connection".
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agents import services
from agents.errors import RegistryError
from agents.models import Connection
from agents.permissions import connections_visible_to
from governance.management.acting import acting_user


def connection_as_dict(c: Connection) -> dict[str, Any]:
    return {
        "id": c.pk,
        "agent": c.agent.slug,
        "agent_team": c.agent.owner_team.slug,
        "resource": c.resource.slug,
        "resource_team": c.resource.owner_team.slug if c.resource.owner_team_id else None,
        "status": c.status,
        "allowed_actions": list(c.allowed_actions or []),
    }


class Command(BaseCommand):
    help = "List connections and accept or decline those waiting for your team's consent."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        lst = sub.add_parser("list", help="the connections you may see")
        lst.add_argument("--status", choices=Connection.Status.values)
        lst.add_argument("--resource", metavar="SLUG", help="only connections to this resource")
        for verb in ("accept", "decline"):
            p = sub.add_parser(verb, help=f"{verb} a connection to your team's resource")
            p.add_argument("id", type=int)
            p.add_argument("--comment", default="", help="sent to the agent's team, audited")
        for p in sub.choices.values():
            p.add_argument("--by", metavar="USERNAME", required=True, help="who acts (audited)")
            p.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options):
        by = acting_user(options["by"], required=True)
        visible = connections_visible_to(by).select_related(
            "agent", "agent__owner_team", "resource", "resource__owner_team"
        )
        if options["action"] == "list":
            if options.get("status"):
                visible = visible.filter(status=options["status"])
            if options.get("resource"):
                visible = visible.filter(resource__slug=options["resource"])
            result: Any = [connection_as_dict(c) for c in visible.order_by("pk")[:500]]
        else:
            connection = visible.filter(pk=options["id"]).first()
            if connection is None:
                raise CommandError(f"no connection {options['id']}")
            try:
                services.connection_consent(
                    connection=connection,
                    accept=options["action"] == "accept",
                    comment=options["comment"],
                    by=by,
                )
            except RegistryError as exc:
                raise CommandError(str(exc)) from exc
            result = connection_as_dict(visible.get(pk=connection.pk))
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        for row in result if isinstance(result, list) else [result]:
            self.stdout.write(
                f"{row['id']:>6}  {row['status']:<9} {row['agent']:<24} → {row['resource']}"
            )
