"""``manage.py grants``: governed grants from a shell, a thin layer over the services.

    manage.py grants request AGENT SCOPE --justification "…" [--expires 2027-01-31T00:00Z] --by U
    manage.py grants approve|deny ID --comment "…" --by REVIEWER
    manage.py grants list [--status pending] [--json] --by U
    manage.py grants reviews [--status pending] [--json] --by U     # versions' scope reviews
    manage.py grants review-approve|review-deny VERSION_ID --comment "…" --by REVIEWER

Every subcommand acts as the person ``--by`` names (audited as ``user:U``) and is held to the
services' checks: a low scope goes to ``agents`` granting directly, any other is a request,
decided by a security reviewer or platform admin outside the requesting team. Errors exit
non-zero with the service's message and change nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from agents.errors import RegistryError
from agents.models import AgentVersion, Scope
from agents.permissions import agents_managed_by
from governance.management.acting import acting_user

from ...models import GrantRequest
from ...permissions import grant_requests_visible_to, scope_reviews_visible_to
from ...services import grant_request_decide, grant_request_open
from ...versions import scope_review_decide


def request_as_dict(r: GrantRequest) -> dict[str, Any]:
    return {
        "id": r.pk,
        "agent": r.agent.slug,
        "scope": r.scope.name,
        "sensitivity": r.scope.sensitivity,
        "status": r.status,
        "justification": r.justification,
        "expires_at": r.expires_at.isoformat() if r.expires_at else None,
        "requested_by": r.requested_by.get_username() if r.requested_by_id else None,
        "decided_by": r.decided_by.get_username() if r.decided_by_id else None,
        "decision_comment": r.decision_comment,
        "grant": r.grant_id,
    }


def version_as_dict(v: AgentVersion) -> dict[str, Any]:
    added = " ".join(f"+{n}" for n in v.scopes_added)
    removed = " ".join(f"-{n}" for n in v.scopes_removed)
    return {
        "id": v.pk,
        "agent": v.agent.slug,
        "label": v.label,
        "status": v.scope_review,
        "scopes_added": v.scopes_added,
        "scopes_removed": v.scopes_removed,
        "difference": f"{added} {removed}".strip(),
        "reviewed_by": v.reviewed_by.get_username() if v.reviewed_by_id else None,
    }


class Command(BaseCommand):
    help = "Ask for, approve, deny and list grant requests for sensitive and critical scopes."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        ask = sub.add_parser("request", help="ask for a scope for an agent your team manages")
        ask.add_argument("agent")
        ask.add_argument("scope")
        ask.add_argument("--justification", required=True)
        ask.add_argument("--expires", help="ISO 8601 end date (required for critical scopes)")
        for verb in ("approve", "deny"):
            p = sub.add_parser(verb, help=f"{verb} a pending request (reviewers outside the team)")
            p.add_argument("id", type=int)
            p.add_argument("--comment", required=True)
        lst = sub.add_parser("list", help="the requests you may see")
        lst.add_argument("--status", choices=GrantRequest.Status.values)
        reviews = sub.add_parser("reviews", help="versions' scope reviews you may see")
        reviews.add_argument("--status", choices=AgentVersion.ScopeReview.values)
        for verb in ("review-approve", "review-deny"):
            p = sub.add_parser(verb, help=f"{verb[7:]} a version's pending scope review")
            p.add_argument("id", type=int)
            p.add_argument("--comment", required=True)
        for p in (ask, *sub.choices.values()):
            if not any(a.dest == "by" for a in p._actions):
                p.add_argument("--by", metavar="USERNAME", required=True, help="who acts")
                p.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options):
        by = acting_user(options["by"], required=True)
        try:
            result = getattr(self, f"_{options['action'].replace('-', '_')}")(options, by)
        except RegistryError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
        elif isinstance(result, list):
            for row in result:
                what = row.get("scope") or f"{row.get('label')} {row.get('difference')}"
                self.stdout.write(f"{row['id']:>6}  {row['status']:<9} {row['agent']:<24} {what}")
        else:
            self.stdout.write(f"{result['id']}: {result['status']}")

    def _request(self, options, by) -> dict[str, Any]:
        agent = agents_managed_by(by).filter(slug=options["agent"]).first()
        if agent is None:
            raise CommandError(f"no agent {options['agent']!r} that you manage")
        scope = Scope.objects.filter(name=options["scope"]).first()
        if scope is None:
            raise CommandError(f"no scope {options['scope']!r}")
        expires = None
        if options.get("expires"):
            expires = parse_datetime(options["expires"])
            if expires is None or expires.tzinfo is None:
                raise CommandError("--expires must be an ISO 8601 date and time with a zone")
        made = grant_request_open(
            agent=agent,
            scope=scope,
            justification=options["justification"],
            expires_at=expires,
            by=by,
        )
        return request_as_dict(made)

    def _decide(self, options, by, approve: bool) -> dict[str, Any]:
        found = grant_requests_visible_to(by).filter(pk=options["id"]).first()
        if found is None:
            raise CommandError(f"no grant request {options['id']}")
        return request_as_dict(
            grant_request_decide(request=found, approve=approve, by=by, comment=options["comment"])
        )

    def _approve(self, options, by) -> dict[str, Any]:
        return self._decide(options, by, True)

    def _deny(self, options, by) -> dict[str, Any]:
        return self._decide(options, by, False)

    def _list(self, options, by) -> list[dict[str, Any]]:
        rows = grant_requests_visible_to(by)
        if options.get("status"):
            rows = rows.filter(status=options["status"])
        return [request_as_dict(r) for r in rows[:500]]

    def _reviews(self, options, by) -> list[dict[str, Any]]:
        rows = scope_reviews_visible_to(by)
        if options.get("status"):
            rows = rows.filter(scope_review=options["status"])
        return [version_as_dict(v) for v in rows[:500]]

    def _review_decide(self, options, by, approve: bool) -> dict[str, Any]:
        found = scope_reviews_visible_to(by).filter(pk=options["id"]).first()
        if found is None:
            raise CommandError(f"no scope review {options['id']}")
        return version_as_dict(
            scope_review_decide(version=found, approve=approve, by=by, comment=options["comment"])
        )

    def _review_approve(self, options, by) -> dict[str, Any]:
        return self._review_decide(options, by, True)

    def _review_deny(self, options, by) -> dict[str, Any]:
        return self._review_decide(options, by, False)
