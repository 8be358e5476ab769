"""``manage.py usage``: the usage facts folded from the audit log.

manage.py usage fold [--batch-size N] [--for SECONDS]   # what the beat task does, inline
manage.py usage rebuild [--batch-size N]               # forget the facts, fold the log again
manage.py usage status [--json]                        # watermarks and how far behind
manage.py usage show SLUG [--json]                     # one agent's grants, connections,
                                                       # credentials: last use, 30/90 days
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from agents.models import Agent, Connection, ScopeGrant
from audit.models import AuditEntry
from credentials.models import Credential
from trust.usage.baselines import BASELINES, baselines_update
from trust.usage.fold import USAGE, usage_fold, usage_rebuild
from trust.usage.models import UsageWatermark
from trust.usage.selectors import Usage, usage_evidence


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "last_used_at": usage.last_used_at.isoformat() if usage.last_used_at else None,
        "uses_30d": usage.uses_30d,
        "uses_90d": usage.uses_90d,
    }


def status() -> dict[str, Any]:
    marks = {mark.name: mark for mark in UsageWatermark.objects.filter(name__in=[USAGE, BASELINES])}
    usage, baselines = marks.get(USAGE), marks.get(BASELINES)
    position = usage.position if usage else 0
    behind = AuditEntry.objects.filter(seq__gt=position).count()
    return {
        "folded_through_seq": position,
        "folded_through_time": usage.through.isoformat() if usage and usage.through else None,
        "sequenced_entries_behind": behind,
        "baselines_through": baselines.through.isoformat()
        if baselines and baselines.through
        else None,
    }


def agent_usage(agent: Agent) -> dict[str, Any]:
    """Everything the agent holds, each with its evidence of use (never-used lines included)."""
    evidence = usage_evidence(agent_ids=[agent.pk])
    grants = ScopeGrant.objects.filter(agent=agent).active().select_related("scope")
    connections = Connection.objects.filter(agent=agent).select_related("resource")
    credentials = Credential.objects.filter(agent=agent, status__in=Credential.USABLE)
    return {
        "agent": agent.slug,
        "as_of": evidence.as_of.isoformat() if evidence.as_of else None,
        "grants": {g.scope.name: _usage(evidence.grant(agent.pk, g.scope.name)) for g in grants},
        "connections": {
            c.resource.slug: _usage(evidence.connection(agent.pk, c.resource.slug))
            for c in connections
        },
        "credentials": {str(c.pk): _usage(evidence.credential(c.pk)) for c in credentials},
    }


class Command(BaseCommand):
    help = "Fold the audit log into usage facts, rebuild them, or show them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        fold = sub.add_parser("fold", help="fold new sequenced entries (what beat runs)")
        fold.add_argument("--batch-size", type=int, default=None)
        fold.add_argument("--for", dest="seconds", type=float, default=None)
        rebuild = sub.add_parser("rebuild", help="forget every fact and fold the log again")
        rebuild.add_argument("--batch-size", type=int, default=None)
        st = sub.add_parser("status", help="watermarks and how far behind the log they are")
        st.add_argument("--json", action="store_true")
        show = sub.add_parser("show", help="one agent's evidence of use")
        show.add_argument("slug")
        show.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        action = options["action"]
        if options.get("batch_size") is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if action in ("fold", "rebuild"):
            started = timezone.now()
            if action == "fold":
                result = usage_fold(
                    batch_size=options["batch_size"], max_seconds=options["seconds"]
                )
                hours = baselines_update()
            else:
                result = usage_rebuild(batch_size=options["batch_size"])
                hours = None
            seconds = (timezone.now() - started).total_seconds()
            self.stdout.write(
                f"folded {result.entries} entries in {result.batches} batches "
                f"({seconds:.2f} s); watermark at seq {result.position}"
                + (f"; {hours} hours into baselines" if hours is not None else "")
            )
            return
        if action == "status":
            result = status()
        else:
            agent = Agent.objects.filter(slug=options["slug"]).first()
            if agent is None:
                raise CommandError(f"no agent with slug {options['slug']!r}")
            result = agent_usage(agent)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        for key, value in result.items():
            if isinstance(value, dict):
                self.stdout.write(f"{key}:")
                for name, item in value.items():
                    self.stdout.write(f"  {name}: {item}")
            else:
                self.stdout.write(f"{key}: {value}")
