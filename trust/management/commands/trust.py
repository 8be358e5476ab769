"""``manage.py trust``: read or set an agent's current trust score and level.

    manage.py trust show SLUG [--json]
    manage.py trust set SLUG --score 80 --level trusted --reason "…" [--by USER] [--json]
    manage.py trust attestors list|add|revoke …   (see trust/attestations/cli.py)

``--by`` must name a platform admin (the same rule as the admin page); without it the change
is audited as ``system``. Errors exit non-zero and change nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from agents.models import Agent, TrustLevel
from agents.permissions import is_platform_admin
from trust.attestations import cli as attestors_cli
from trust.errors import TrustError
from trust.services import trust_level_set


def _as_dict(agent: Agent) -> dict[str, Any]:
    return {
        "agent": agent.slug,
        "trust_score": agent.trust_score,
        "trust_level": agent.trust_level,
        "trust_updated_at": agent.trust_updated_at.isoformat() if agent.trust_updated_at else None,
    }


class Command(BaseCommand):
    help = "Show or set an agent's trust score and level (audited)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        show = sub.add_parser("show")
        show.add_argument("slug")
        show.add_argument("--json", action="store_true")
        st = sub.add_parser("set")
        st.add_argument("slug")
        st.add_argument("--score", type=int, required=True)
        st.add_argument("--level", choices=TrustLevel.values, required=True)
        st.add_argument("--reason", required=True)
        st.add_argument("--by", metavar="USERNAME", help="the platform admin acting (audited)")
        st.add_argument("--json", action="store_true")
        attestors_cli.add_parser(sub)

    def handle(self, *args, **options):
        if options["action"] == "attestors":
            return attestors_cli.run(options, self.stdout)
        agent = Agent.objects.filter(slug=options["slug"]).first()
        if agent is None:
            raise CommandError(f"no agent with slug {options['slug']!r}")
        if options["action"] == "set":
            by: Any = "system"
            if options.get("by"):
                by = get_user_model().objects.filter(username=options["by"], is_active=True).first()
                if by is None:
                    raise CommandError(f"no active user {options['by']!r}")
                if not is_platform_admin(by):
                    raise CommandError(f"user {by.username!r} is not a platform admin")
            try:
                agent = trust_level_set(
                    agent=agent,
                    score=options["score"],
                    level=options["level"],
                    reason=options["reason"],
                    by=by,
                )
            except TrustError as exc:
                raise CommandError(str(exc)) from exc
        result = _as_dict(agent)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")
