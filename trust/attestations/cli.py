"""``manage.py trust attestors list|add|revoke``: the attestors' part of the ``trust`` command.

    manage.py trust attestors list [--json]
    manage.py trust attestors add NAME --jwk FILE|- --claim-types security_audit,config_scan
        --cap 20 [--display-name "…"] [--kid KID] [--by ADMIN] [--json]
    manage.py trust attestors revoke NAME --reason "…" [--by ADMIN] [--json]

``--by`` must name a platform admin; without it the change is audited as ``system``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from . import services
from .models import Attestor


def add_parser(sub) -> None:
    """Add ``attestors`` and its own actions to the ``trust`` command's subparsers."""
    attestors = sub.add_parser("attestors", help="list, add or revoke attestors")
    actions = attestors.add_subparsers(dest="attestors_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list")
    listing.add_argument("--json", action="store_true")
    add = actions.add_parser("add")
    add.add_argument("name")
    add.add_argument("--jwk", required=True, help="file with the public JWK, or - for stdin")
    add.add_argument("--claim-types", required=True, help="comma-separated")
    add.add_argument("--cap", type=int, required=True)
    add.add_argument("--display-name", default="")
    add.add_argument("--kid", default="")
    add.add_argument("--by", metavar="USERNAME")
    add.add_argument("--json", action="store_true")
    revoke = actions.add_parser("revoke")
    revoke.add_argument("name")
    revoke.add_argument("--reason", required=True)
    revoke.add_argument("--by", metavar="USERNAME")
    revoke.add_argument("--json", action="store_true")


def as_dict(attestor: Attestor) -> dict[str, Any]:
    return {
        "name": attestor.name,
        "display_name": attestor.display_name,
        "algorithm": attestor.algorithm,
        "kid": attestor.kid,
        "claim_types": attestor.claim_types,
        "cap": attestor.cap,
        "status": attestor.status,
        "public_jwk": attestor.public_jwk,
    }


def _by(username: str | None) -> Any:
    if not username:
        return "system"
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {username!r}")
    return user


def _read_jwk(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read a JWK from {path}: {exc}") from exc


def _refused(exc: Exception) -> CommandError:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        text = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    elif isinstance(exc, ValidationError):
        text = " ".join(exc.messages)
    else:
        text = str(exc)
    return CommandError(text)


def run(options: dict[str, Any], stdout) -> None:
    action = options["attestors_action"]
    if action == "list":
        rows = [as_dict(a) for a in Attestor.objects.order_by("name")]
        if options["json"]:
            stdout.write(json.dumps(rows, indent=2))
        for row in [] if options["json"] else rows:
            stdout.write(
                f"{row['name']}\t{row['status']}\t{row['algorithm']}\tcap {row['cap']}\t"
                f"{','.join(row['claim_types'])}"
            )
        return
    try:
        if action == "add":
            attestor = services.attestor_register(
                name=options["name"],
                display_name=options["display_name"],
                public_jwk=_read_jwk(options["jwk"]),
                claim_types=[c.strip() for c in options["claim_types"].split(",") if c.strip()],
                cap=options["cap"],
                kid=options["kid"],
                by=_by(options.get("by")),
            )
        else:
            attestor = Attestor.objects.filter(name=options["name"]).first()
            if attestor is None:
                raise CommandError(f"no attestor named {options['name']!r}")
            attestor = services.attestor_revoke(
                attestor=attestor, by=_by(options.get("by")), reason=options["reason"]
            )
    except (ValidationError, services.AttestorError) as exc:
        raise _refused(exc) from exc
    result = as_dict(attestor)
    if options["json"]:
        stdout.write(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            stdout.write(f"{key}: {value}")
