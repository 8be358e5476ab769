"""Revocation (RFC 7009) and the cleanup of what only matters until tokens expire."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from audit.principals import SYSTEM
from audit.services import record

from ..client_auth import ClientPrincipal
from ..errors import OAuthError
from ..models import AssertionJti, RevokedToken
from ..token_check import LEEWAY_SECONDS, verify_signature_and_claims
from .introspection import aud_list


@transaction.atomic
def token_revoke(*, client: ClientPrincipal, token: str, reason: str = "") -> bool:
    """RFC 7009: revoke a token (and so every token exchanged from it); True if it was live."""
    claims, _ = verify_signature_and_claims(token)
    if claims is None:
        # Expired, malformed or foreign: nothing to revoke, and RFC 7009 answers 200 anyway.
        return False
    if client.agent is not None:
        allowed = claims.get("client_id") == client.client_id or claims["sub"] == client.client_id
    else:
        assert client.resource is not None
        allowed = client.resource.audience in aud_list(claims)
    if not allowed:
        raise OAuthError("unauthorized_client", "this token was not issued to the caller")
    expires_at = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
    _, created = RevokedToken.objects.get_or_create(
        jti=claims["jti"],
        defaults={"expires_at": expires_at, "revoked_by": client.principal, "reason": reason},
    )
    record(
        actor=client.principal,
        action="token.revoke",
        resource=f"agent:{claims['sub']}",
        target_type="access_token",
        target_id=claims["jti"],
        token_jti=claims["jti"],
        credential_id=str(claims.get("cred", "")),
        workflow_run=str(claims.get("workflow_run", "")),
        changes={"already_revoked": not created},
    )
    return created


def tokens_cleanup(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Drop replay-cache rows and revoked ``jti``s whose tokens have expired; safe to re-run."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=LEEWAY_SECONDS + 60)
    with transaction.atomic():
        assertions, _ = AssertionJti.objects.filter(expires_at__lt=cutoff).delete()
        revoked, _ = RevokedToken.objects.filter(expires_at__lt=cutoff).delete()
        record(
            actor=SYSTEM,
            action="token.cleanup",
            changes={"assertion_jtis": assertions, "revoked_jtis": revoked},
        )
    return {"assertion_jtis": assertions, "revoked_jtis": revoked}
