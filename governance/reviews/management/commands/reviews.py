"""``manage.py reviews``: access reviews from a shell, a thin layer over the services.

    manage.py reviews open [--coverage all|team|sensitivity] [--team T] [--min-sensitivity S]
                           [--reviewer U …] [--due YYYY-MM-DD] [--name N] [--by USER] [--json]
    manage.py reviews list [--state open|closed] [--json]
    manage.py reviews show CAMPAIGN [--item ITEM] [--json]
    manage.py reviews decide ITEM --by USER (--accept | --line ID=keep|reduce|revoke …)
                             [--comment ID=TEXT …] [--reduce-to ID=a,b …] [--json]
    manage.py reviews signoff ITEM --by USER [--json]
    manage.py reviews report CAMPAIGN [--csv]

``--by USER`` names the person acting, audited as ``user:USER`` and held to the same checks as
the portal and the API (roles, assigned reviewers, separation of duties); deciding needs one.
Without it a campaign is opened as ``system``. Errors exit non-zero and change nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from agents.models import Team
from governance.management.acting import acting_user

from ... import selectors, services
from ...errors import ReviewError
from ...models import Campaign, ReviewItem
from ...permissions import items_visible_to


def _reader(by):
    """Without --by the shell reads everything, like ``manage.py agents list``: an unsaved
    superuser stands in for the visibility checks (it is never written anywhere)."""
    return by or get_user_model()(is_superuser=True, is_active=True)


def _pairs(values: list[str], what: str) -> dict[int, str]:
    out = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key.isdigit():
            raise CommandError(f"{what}: use LINE_ID=VALUE, not {value!r}")
        out[int(key)] = rest
    return out


def item_as_dict(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "campaign": item.campaign_id,
        "agent": item.agent.slug,
        "team": item.agent.owner_team.slug,
        "risk": item.risk,
        "state": item.state,
        "owner_answer": item.owner_answer,
        "lines": [
            {
                "id": line.pk,
                "kind": line.kind,
                "name": line.label,
                "last_used_at": line.last_used_at.isoformat() if line.last_used_at else None,
                "uses_30d": line.uses_30d,
                "uses_90d": line.uses_90d,
                "age_days": line.age_days,
                "recommendation": line.recommendation,
                "reason": line.reason,
                "decision": line.decision,
                "result": line.result,
            }
            for line in selectors.item_lines(item)
        ],
    }


def campaign_as_dict(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.pk, "name": c.name, "kind": c.kind, "coverage": c.coverage, "state": c.state,
        "due_at": c.due_at.isoformat(), "items": getattr(c, "total", None),
        "pending": getattr(c, "pending", None),
    }  # fmt: skip


class Command(BaseCommand):
    help = "Open, list, show, decide, sign off and report access review campaigns."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        p = sub.add_parser("open", help="open a campaign")
        p.add_argument("--coverage", default="all", choices=["all", "team", "sensitivity"])
        p.add_argument("--team")
        p.add_argument("--min-sensitivity", default="")
        p.add_argument("--reviewer", action="append", default=[])
        p.add_argument("--due", help="YYYY-MM-DD (UTC midnight)")
        p.add_argument("--name", default="")
        p = sub.add_parser("list", help="list campaigns")
        p.add_argument("--state", choices=Campaign.State.values)
        p = sub.add_parser("show", help="a campaign's items, or one item's lines")
        p.add_argument("campaign", type=int)
        p.add_argument("--item", type=int)
        p = sub.add_parser("decide", help="decide lines of an item")
        p.add_argument("item", type=int)
        p.add_argument("--accept", action="store_true", help="accept every recommendation")
        p.add_argument("--line", action="append", default=[], metavar="ID=DECISION")
        p.add_argument("--comment", action="append", default=[], metavar="ID=TEXT")
        p.add_argument("--reduce-to", action="append", default=[], metavar="ID=a,b")
        p = sub.add_parser("signoff", help="apply an item's decisions and certify it")
        p.add_argument("item", type=int)
        p = sub.add_parser("report", help="a campaign's report (JSON, or --csv)")
        p.add_argument("campaign", type=int)
        p.add_argument("--csv", action="store_true")
        for p in sub.choices.values():
            p.add_argument("--by", metavar="USERNAME", help="the person acting (audited)")
            p.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options):
        by = acting_user(options.get("by"))
        try:
            result = getattr(self, f"do_{options['action']}")(options, by)
        except ReviewError as exc:
            raise CommandError(str(exc)) from exc
        if result is not None:
            self.stdout.write(json.dumps(result, indent=None if options["json"] else 2))

    def _items(self, by):
        return items_visible_to(_reader(by))

    def _item(self, pk: int, by) -> ReviewItem:
        item = self._items(by).filter(pk=pk).first()
        if item is None:
            raise CommandError(f"no review item {pk}")
        return item

    def do_open(self, o, by):
        team = None
        if o["team"]:
            team = Team.objects.filter(slug=o["team"]).first()
            if team is None:
                raise CommandError(f"no team {o['team']!r}")
        due = None
        if o["due"]:
            try:
                due = dt.datetime.strptime(o["due"], "%Y-%m-%d").replace(tzinfo=dt.UTC)
            except ValueError as exc:
                raise CommandError("--due: use YYYY-MM-DD") from exc
        campaign = services.review_campaign_open(
            by=by or "system:cli",
            name=o["name"],
            coverage=o["coverage"],
            team=team,
            min_sensitivity=o["min_sensitivity"],
            reviewers=[acting_user(u) for u in o["reviewer"]],
            due_at=due,
        )
        return {**campaign_as_dict(campaign), "items": campaign.items.count()}

    def do_list(self, o, by):
        qs = selectors.campaigns_with_counts(_reader(by))
        if o["state"]:
            qs = qs.filter(state=o["state"])
        return [campaign_as_dict(c) for c in qs.order_by("-created_at")[:500]]

    def do_show(self, o, by):
        if o["item"]:
            item = self._item(o["item"], by)
            if item.campaign_id != o["campaign"]:
                raise CommandError(f"item {item.pk} is not in campaign {o['campaign']}")
            return item_as_dict(item)
        items = self._items(by).filter(campaign_id=o["campaign"]).order_by("agent__slug")
        return [
            {"id": i.pk, "agent": i.agent.slug, "risk": i.risk, "state": i.state}
            for i in items[:5000]
        ]

    def do_decide(self, o, by):
        if by is None:
            raise CommandError("deciding needs --by USER (a reviewer)")
        item = self._item(o["item"], by)
        comments = _pairs(o["comment"], "--comment")
        reduce_to = _pairs(o["reduce_to"], "--reduce-to")
        decisions = {
            pk: services.LineDecision(
                value, comments.get(pk, ""), tuple(filter(None, reduce_to.get(pk, "").split(",")))
            )
            for pk, value in _pairs(o["line"], "--line").items()
        }
        if not decisions and not o["accept"]:
            raise CommandError("give --accept or at least one --line ID=DECISION")
        services.review_item_decide(
            item=item, by=by, decisions=decisions, accept_recommendations=o["accept"]
        )
        return item_as_dict(item)

    def do_signoff(self, o, by):
        if by is None:
            raise CommandError("signing off needs --by USER (a reviewer)")
        item = self._item(o["item"], by)
        services.review_item_sign_off(item=item, by=by)
        item.refresh_from_db()
        return item_as_dict(item)

    def do_report(self, o, by):
        reader = _reader(by)
        campaign = selectors.campaigns_with_counts(reader).filter(pk=o["campaign"]).first()
        if campaign is None:
            raise CommandError(f"no campaign {o['campaign']}")
        if o["csv"]:
            writer = csv.writer(self.stdout)
            writer.writerow(selectors.REPORT_COLUMNS)
            for row in selectors.report_rows(campaign, reader):
                writer.writerow(row)
            return None
        return {
            "campaign": campaign_as_dict(campaign),
            "generated_at": timezone.now().isoformat(),
            "columns": selectors.REPORT_COLUMNS,
            "rows": list(selectors.report_rows(campaign, reader)),
            "reviewers": [
                {**vars(r), "flags": list(r.flags)} for r in selectors.reviewer_stats(campaign)
            ],
        }
