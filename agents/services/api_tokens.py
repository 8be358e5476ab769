"""Personal API tokens for scripts: issue (the secret shown once), revoke, authenticate.

Format ``gvp_<key>_<secret>``: ``gvp_`` can never be mistaken for a JWT (those start ``eyJ``)
and makes leaked tokens easy to scan for; ``<key>`` (16 hex) finds the row in O(1); ``<secret>``
(256 bits) is stored only as an HMAC-SHA-256 keyed from ``SECRET_KEY``. A high-entropy secret
needs no slow hash, and a slow one would tax every API call.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from audit.principals import By, actor_principal
from audit.services import record

from ..errors import InvalidTransition, TokenError
from ..models import ApiToken

PREFIX = "gvp_"
_FORMAT = re.compile(r"^gvp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
# Compared against when the key is unknown, so that path costs the same as a wrong secret.
_DUMMY_DIGEST = "0" * 64
# last_used_at is a hint for humans; writing it on every call would make each read a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _digest(key: str, secret: str) -> str:
    return salted_hmac("agents.ApiToken", f"{key}:{secret}", algorithm="sha256").hexdigest()


def is_api_token(raw: str) -> bool:
    """Does this look like one of ours (even if malformed)? Others' bearer values are not."""
    return raw.startswith(PREFIX)


@transaction.atomic
def api_token_create(
    *, user, name: str, expires_at: dt.datetime | None = None, by: By = None
) -> tuple[ApiToken, str]:
    """Issue a token for ``user``; returns the row and the full token, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise TokenError("a token needs a name")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError("expires_at must be in the future")
    if not user.is_active:
        raise TokenError("tokens can only be issued to active users")
    key = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], key=key, digest=_digest(key, secret), expires_at=expires_at
    )
    record(
        actor=actor_principal(by if by is not None else user),
        action="api_token.create",
        resource=f"user:{user.get_username()}",
        target_type="api_token",
        target_id=token.pk,
        changes={
            "name": token.name,
            "key_id": key,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, f"{PREFIX}{key}_{secret}"


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: By = None) -> ApiToken:
    """Revoke a token now; it stops working on the next request."""
    locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if locked.revoked_at is not None:
        raise InvalidTransition(f"token {locked.name} is already revoked")
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    record(
        actor=actor_principal(by if by is not None else locked.user),
        action="api_token.revoke",
        resource=f"user:{locked.user.get_username()}",
        target_type="api_token",
        target_id=locked.pk,
        changes={"key_id": locked.key, "revoked": [False, True]},
    )
    token.revoked_at = locked.revoked_at
    return locked


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The usable token for ``raw``, or None; every failure looks the same to the caller."""
    match = _FORMAT.match(raw)
    if match is None:
        return None
    key, secret = match.groups()
    token = ApiToken.objects.select_related("user").filter(key=key).first()
    expected = token.digest if token is not None else _DUMMY_DIGEST
    if not hmac.compare_digest(expected, _digest(key, secret)) or token is None:
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
