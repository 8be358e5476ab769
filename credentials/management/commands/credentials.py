"""``manage.py credentials …``: issue, list, revoke, rotate credentials; JWKS and signing keys.

Every subcommand prints JSON, so owners can script it (the one-time secret is in the output of
``issue`` and ``rotate`` and nowhere else).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agents.models import Agent, Resource
from credentials import selectors, services
from credentials.errors import CredentialError
from credentials.models import Credential
from credentials.signing import current_kid, public_jwks


def _principal(options: dict[str, Any]) -> dict[str, Any]:
    agent_slug, resource_slug = options.get("agent"), options.get("resource")
    if bool(agent_slug) == bool(resource_slug):
        raise CommandError("name exactly one of --agent or --resource")
    try:
        if agent_slug:
            return {"agent": Agent.objects.get(slug=agent_slug)}
        return {"resource": Resource.objects.get(slug=resource_slug)}
    except (Agent.DoesNotExist, Resource.DoesNotExist) as exc:
        raise CommandError(str(exc)) from exc


def _credential(credential_id: str) -> Credential:
    try:
        return Credential.objects.select_related("agent", "resource").get(pk=credential_id)
    except Credential.DoesNotExist as exc:
        raise CommandError(f"no credential {credential_id}") from exc


def _jwk_arg(path: str | None) -> dict[str, Any] | None:
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read a JWK from {path}: {exc}") from exc


class Command(BaseCommand):
    help = "Manage agent and resource-server credentials and the platform signing keys."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        jwks = sub.add_parser("jwks", help="print the JWKS (public keys only)")
        jwks.add_argument("--all", action="store_true", help="include expired keys too")

        for name, text in (("issue", "issue a credential"), ("list", "list credentials")):
            p = sub.add_parser(name, help=text)
            p.add_argument("--agent")
            p.add_argument("--resource")
            if name == "issue":
                p.add_argument("--public-key", metavar="JWK_FILE", help="a P-256/Ed25519 JWK")
                p.add_argument("--label", default="")

        revoke = sub.add_parser("revoke", help="revoke one credential now")
        revoke.add_argument("credential_id")
        revoke.add_argument("--reason", default="")

        revoke_all = sub.add_parser("revoke-all", help="revoke every credential of a principal")
        revoke_all.add_argument("--agent")
        revoke_all.add_argument("--resource")
        revoke_all.add_argument("--reason", default="")

        rotate = sub.add_parser("rotate", help="issue a successor; the predecessor overlaps")
        rotate.add_argument("credential_id")
        rotate.add_argument("--emergency", action="store_true", help="kill the predecessor now")
        rotate.add_argument("--public-key", metavar="JWK_FILE")
        rotate.add_argument("--reason", default="")

        keys = sub.add_parser("rotate-signing-keys", help="run the signing-key rotation")
        keys.add_argument("--force", action="store_true", help="promote the next key now")
        keys.add_argument(
            "--compromised", action="store_true", help="withdraw the current key at once"
        )
        keys.add_argument("--algorithm", choices=["ES256", "EdDSA"])
        sub.add_parser("rewrap-signing-keys", help="re-encrypt under the newest wrapping key")
        sub.add_parser("sweep", help="flag credentials due for rotation, expire predecessors")

    def _out(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, indent=2, default=str))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        by = "system:cli"
        try:
            if action == "jwks":
                current_kid()  # a fresh install makes its first key, as the JWKS endpoint does
                self._out(public_jwks(include_retired=options["all"]))
            elif action == "issue":
                jwk = _jwk_arg(options.get("public_key"))
                issued = services.credential_issue(
                    **_principal(options),
                    kind="public_key" if jwk else "client_secret",
                    public_jwk=jwk,
                    label=options["label"],
                    by=by,
                )
                self._out(selectors.issued_credential_json(issued))
            elif action == "list":
                rows = selectors.credentials_of(**_principal(options))
                self._out([selectors.credential_json(c) for c in rows])
            elif action == "revoke":
                credential = services.credential_revoke(
                    credential=_credential(options["credential_id"]),
                    by=by,
                    reason=options["reason"],
                )
                self._out(selectors.credential_json(credential))
            elif action == "revoke-all":
                count = services.credential_revoke_all(
                    **_principal(options), by=by, reason=options["reason"]
                )
                self._out({"revoked": count})
            elif action == "rotate":
                issued = services.credential_rotate(
                    credential=_credential(options["credential_id"]),
                    by=by,
                    emergency=options["emergency"],
                    public_jwk=_jwk_arg(options.get("public_key")),
                    reason=options["reason"],
                )
                self._out(selectors.issued_credential_json(issued))
            elif action == "rotate-signing-keys":
                self._out(
                    services.signing_keys_rotate(
                        force=options["force"],
                        compromised=options["compromised"],
                        algorithm=options.get("algorithm"),
                    )
                )
            elif action == "rewrap-signing-keys":
                self._out({"rewrapped": services.signing_keys_rewrap()})
            elif action == "sweep":
                self._out(
                    {
                        "flagged": services.credentials_flag_due(),
                        "expired": services.credentials_expire_due(),
                    }
                )
        except CredentialError as exc:
            raise CommandError(str(exc)) from exc
