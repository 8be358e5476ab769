"""``manage.py approvals``: list and decide approval requests from a shell (thin over services).

    manage.py approvals list [--status pending] [--json]
    manage.py approvals show ID [--json]
    manage.py approvals approve|deny ID --by USER [--reason R] [--json]

Deciding needs ``--by``: a named person, held to the same checks as the portal (a security
reviewer, a platform admin or a manager of the agent's team). Errors exit non-zero and change
nothing.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance.approvals.errors import ApprovalError
from governance.approvals.models import ApprovalRequest
from governance.approvals.services import approval_decide
from governance.management.acting import acting_user


def approval_as_dict(a: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": str(a.pk),
        "status": a.status,
        "agent": a.agent.slug,
        "resource": a.resource.slug,
        "action": a.action,
        "cost": str(a.cost),
        "workflow_run": a.workflow_run,
        "on_behalf_of": a.on_behalf_of,
        "reasons": a.reasons,
        "trust": {"score": a.trust_score, "level": a.trust_level},
        "created_at": a.created_at.isoformat(),
        "expires_at": a.expires_at.isoformat(),
        "decided_by": a.decided_by.get_username() if a.decided_by_id else None,
        "decided_at": a.decided_at.isoformat() if a.decided_at else None,
        "decision_reason": a.decision_reason,
        "valid_until": a.valid_until.isoformat() if a.valid_until else None,
    }


class Command(BaseCommand):
    help = "List, show, approve and deny approval requests."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        lst = sub.add_parser("list", help="list requests, newest first")
        lst.add_argument("--status", choices=ApprovalRequest.Status.values)
        lst.add_argument("--json", action="store_true")
        show = sub.add_parser("show", help="show one request")
        show.add_argument("id")
        show.add_argument("--json", action="store_true")
        for name in ("approve", "deny"):
            p = sub.add_parser(name, help=f"{name} a pending request")
            p.add_argument("id")
            p.add_argument("--by", required=True, metavar="USERNAME", help="who decides")
            p.add_argument("--reason", default="")
            p.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "list":
            qs = ApprovalRequest.objects.select_related("agent", "resource", "decided_by")
            if options.get("status"):
                qs = qs.filter(status=options["status"])
            result: Any = [approval_as_dict(a) for a in qs]
        elif action == "show":
            result = approval_as_dict(self._approval(options["id"]))
        else:
            user = acting_user(options["by"], required=True)
            try:
                decided = approval_decide(
                    approval=self._approval(options["id"]),
                    approve=action == "approve",
                    by=user,
                    reason=options["reason"],
                )
            except ApprovalError as exc:
                raise CommandError(str(exc)) from exc
            result = approval_as_dict(decided)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
        elif isinstance(result, list):
            for a in result:
                self.stdout.write(
                    f"{a['id']}  {a['status']:8}  {a['agent']} {a['action']} on {a['resource']}"
                )
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")

    def _approval(self, raw: str) -> ApprovalRequest:
        try:
            pk = uuid.UUID(raw)
        except ValueError:
            raise CommandError(f"{raw!r} is not an approval request id") from None
        approval = (
            ApprovalRequest.objects.select_related("agent", "resource", "decided_by")
            .filter(pk=pk)
            .first()
        )
        if approval is None:
            raise CommandError(f"no approval request {raw}")
        return approval
