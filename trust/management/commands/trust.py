"""``manage.py trust``: show, explain, recompute, pin and release agents' trust.

    manage.py trust show SLUG [--json]
    manage.py trust explain SLUG [--json]          the breakdown computed now, written nowhere
    manage.py trust recompute [SLUG ...] [--all [--workers N]]  the engine's recomputation
    manage.py trust set SLUG --level L --reason "…" [--until ISO] [--by USER] [--json]   a pin
    manage.py trust release SLUG --reason "…" [--by USER]
    manage.py trust prune [--dry-run] [--json]      history and hourly usage past the policy
    manage.py trust attestors list|add|revoke …   (see trust/attestations/cli.py)

``--by`` must name a security reviewer or platform admin (the same rule as the admin and the
API); without it the change is audited as ``system``. Errors exit non-zero and change nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from agents.models import Agent, TrustLevel
from agents.permissions import can_decide
from trust.attestations import cli as attestors_cli
from trust.errors import TrustError
from trust.recompute import explain, recompute_agents, recompute_all
from trust.retention import trust_prune
from trust.selectors import trust_summary
from trust.services import trust_pin, trust_pin_release


class Command(BaseCommand):
    help = "Show, explain, recompute, pin or release agents' trust (pins are audited)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        for name in ("show", "explain"):
            p = sub.add_parser(name)
            p.add_argument("slug")
            p.add_argument("--json", action="store_true")
        rc = sub.add_parser("recompute")
        rc.add_argument("slugs", nargs="*")
        rc.add_argument("--all", action="store_true")
        rc.add_argument(
            "--workers",
            type=int,
            default=1,
            help="with --all on PostgreSQL: spread the batches over this many processes",
        )
        st = sub.add_parser("set", help="pin a level for a while (becomes a pin)")
        st.add_argument("slug")
        st.add_argument("--level", choices=TrustLevel.values, required=True)
        st.add_argument("--reason", required=True)
        st.add_argument("--until", help="ISO 8601 expiry (default: the policy's longest pin)")
        st.add_argument("--by", metavar="USERNAME", help="the reviewer or admin acting (audited)")
        st.add_argument("--json", action="store_true")
        rl = sub.add_parser("release", help="end the agent's pin now")
        rl.add_argument("slug")
        rl.add_argument("--reason", required=True)
        rl.add_argument("--by", metavar="USERNAME")
        pr = sub.add_parser("prune", help="delete history and hourly usage past the policy")
        pr.add_argument("--dry-run", action="store_true", help="count, delete nothing")
        pr.add_argument("--json", action="store_true")
        attestors_cli.add_parser(sub)

    def handle(self, *args, **options):
        action = options["action"]
        if action == "attestors":
            return attestors_cli.run(options, self.stdout)
        if action == "recompute":
            return self._recompute(options)
        if action == "prune":
            return self._prune(options)
        agent = self._agent(options["slug"])
        try:
            if action == "set":
                until = None
                if options.get("until"):
                    until = parse_datetime(options["until"])
                    if until is None or until.tzinfo is None:
                        raise CommandError("--until must be an ISO 8601 time with a zone")
                trust_pin(
                    agent=agent,
                    level=options["level"],
                    reason=options["reason"],
                    expires_at=until,
                    by=self._by(options),
                )
            elif action == "release":
                trust_pin_release(agent=agent, reason=options["reason"], by=self._by(options))
                self.stdout.write(f"released the pin of {agent.slug}")
                return
        except TrustError as exc:
            raise CommandError(str(exc)) from exc
        if action == "explain":
            return self._explain(agent, options["json"])
        self._print(trust_summary(Agent.objects.get(pk=agent.pk)), options["json"])

    def _agent(self, slug: str) -> Agent:
        agent = Agent.objects.filter(slug=slug).first()
        if agent is None:
            raise CommandError(f"no agent with slug {slug!r}")
        return agent

    def _by(self, options) -> Any:
        if not options.get("by"):
            return "system"
        by = get_user_model().objects.filter(username=options["by"], is_active=True).first()
        if by is None:
            raise CommandError(f"no active user {options['by']!r}")
        if not can_decide(by):
            raise CommandError(f"user {by.username!r} is not a security reviewer or admin")
        return by

    def _recompute(self, options) -> None:
        if options["all"] == bool(options["slugs"]):
            raise CommandError("name agents or pass --all")
        if options["all"]:
            if options["workers"] < 1:
                raise CommandError("--workers must be at least 1")
            summary = recompute_all(workers=options["workers"])
        else:
            ids = dict(Agent.objects.filter(slug__in=options["slugs"]).values_list("slug", "pk"))
            missing = sorted(set(options["slugs"]) - set(ids))
            if missing:
                raise CommandError(f"no agent with slug {', '.join(missing)}")
            summary = recompute_agents(ids.values())
        self.stdout.write(
            f"recomputed {summary.agents} agents: {summary.updated} scores or levels changed, "
            f"{summary.level_changes} level changes, {summary.written} history rows"
        )

    def _prune(self, options) -> None:
        result = trust_prune(dry_run=options["dry_run"], reason="manage.py trust prune")
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), indent=2))
            return
        verb = "would delete" if result.dry_run else "deleted"
        usage = (
            f"hourly usage before {result.usage_before:%Y-%m-%d %H:00} UTC"
            if result.usage_before
            else "no hourly usage (the baselines have folded nothing yet)"
        )
        self.stdout.write(
            f"{verb} {result.history_rows} trust history rows (before "
            f"{result.history_before:%Y-%m-%d %H:%M}; level changes before "
            f"{result.level_changes_before:%Y-%m-%d %H:%M}; each agent's latest kept) and "
            f"{result.usage_rows} rows of {usage}, under policy v{result.policy_version}"
            + ("" if result.complete else "; stopped early, run it again")
        )

    def _explain(self, agent: Agent, as_json: bool) -> None:
        outcome, _ = explain(agent)
        data = {
            "agent": agent.slug,
            "score": outcome.score,
            "computed_level": outcome.computed_level,
            "level": outcome.level,
            "caps": outcome.caps,
            "pinned": outcome.pin_id is not None,
            "policy_version": outcome.policy_version,
            "components": {k: round(v, 1) for k, v in outcome.components.items()},
            "factors": outcome.factors_json,
        }
        if as_json:
            self.stdout.write(json.dumps(data, indent=2))
            return
        self.stdout.write(
            f"{agent.slug}: score {outcome.score} ({outcome.computed_level}), level "
            f"{outcome.level}{' (pinned)' if outcome.pin_id else ''}, policy v"
            f"{outcome.policy_version}"
            + (f", capped by {', '.join(outcome.caps)}" if outcome.caps else "")
        )
        for component, points in data["components"].items():
            self.stdout.write(f"  {component}: {points}")
            for row in data["factors"]:
                if row["component"] == component:
                    advice = f"  -> {row['advice']}" if row["advice"] else ""
                    self.stdout.write(
                        f"    {row['points']:>5.1f}  [{row['status']}] {row['sentence']}{advice}"
                    )

    def _print(self, data: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(data, indent=2, default=str))
            return
        for key, value in data.items():
            self.stdout.write(f"{key}: {value}")
