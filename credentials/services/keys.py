"""Platform signing keys: bootstrap, scheduled rotation, expiry, re-wrapping."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import OrganisationPolicy
from audit.principals import SYSTEM
from audit.services import record

from .. import crypto
from ..models import SigningKey

# Slack after the last token's expiry before a retired key leaves the JWKS (clock skew).
RETIRE_MARGIN = dt.timedelta(minutes=5)


def _new_key(*, algorithm: str, status: str, now: dt.datetime) -> SigningKey:
    private = crypto.generate_private_key(algorithm)
    public = crypto.public_jwk_of(private)
    key = SigningKey.objects.create(
        kid=crypto.jwk_thumbprint(public)[:32],
        algorithm=algorithm,
        private_key_encrypted=crypto.wrap(crypto.private_key_pem(private)),
        public_jwk=public,
        status=status,
        created_at=now,
        activated_at=now if status == SigningKey.Status.CURRENT else None,
    )
    record(
        actor=SYSTEM,
        action="signing_key.create",
        target_type="signing_key",
        target_id=key.kid,
        changes={"algorithm": algorithm, "status": status},
    )
    return key


def signing_key_bootstrap(*, algorithm: str | None = None) -> SigningKey:
    """Make the first current key (and its published successor) if there is none; race-safe.

    ``algorithm``: of both keys; by default ``settings.SIGNING_KEY_ALGORITHM``.
    """
    now = timezone.now()
    algorithm = algorithm or settings.SIGNING_KEY_ALGORITHM
    try:
        with transaction.atomic():
            current = _new_key(algorithm=algorithm, status=SigningKey.Status.CURRENT, now=now)
            if not SigningKey.objects.filter(status=SigningKey.Status.NEXT).exists():
                _new_key(algorithm=algorithm, status=SigningKey.Status.NEXT, now=now)
            return current
    except IntegrityError:
        # Another process made it first: use theirs.
        return SigningKey.objects.get(status=SigningKey.Status.CURRENT)


def _retire(key: SigningKey, *, now: dt.datetime, compromised: bool) -> None:
    lifetime = dt.timedelta(seconds=OrganisationPolicy.current().access_token_lifetime_seconds)
    key.status = SigningKey.Status.RETIRED
    key.retired_at = now
    # A compromised key leaves the JWKS at once: its tokens must stop verifying anywhere.
    key.publish_until = now if compromised else now + lifetime + RETIRE_MARGIN
    if compromised:
        key.status = SigningKey.Status.EXPIRED
    key.save(update_fields=["status", "retired_at", "publish_until"])


@transaction.atomic
def signing_keys_rotate(
    *,
    force: bool = False,
    compromised: bool = False,
    algorithm: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, list[str]]:
    """The scheduled rotation; idempotent. Returns the kids created, activated and expired.

    Keeps a NEXT key published; promotes it once the current key is
    ``settings.SIGNING_KEY_ROTATION_DAYS`` old and the next key has been published for
    ``settings.SIGNING_KEY_PUBLISH_LEAD_SECONDS`` (longer than any JWKS cache), or at once with
    ``force``; expires retired keys whose last token has expired.
    """
    from .. import signing

    now = now or timezone.now()
    algorithm = algorithm or settings.SIGNING_KEY_ALGORITHM
    publish_lead = dt.timedelta(seconds=settings.SIGNING_KEY_PUBLISH_LEAD_SECONDS)
    out: dict[str, list[str]] = {"created": [], "activated": [], "expired": []}
    current = SigningKey.objects.select_for_update().filter(status="current").first()
    nxt = SigningKey.objects.select_for_update().filter(status="next").first()
    if current is None:
        current = _new_key(algorithm=algorithm, status=SigningKey.Status.CURRENT, now=now)
        out["created"].append(current.kid)
        out["activated"].append(current.kid)
    if nxt is None:
        nxt = _new_key(algorithm=algorithm, status=SigningKey.Status.NEXT, now=now)
        out["created"].append(nxt.kid)
    due = current.activated_at is None or current.activated_at <= now - dt.timedelta(
        days=settings.SIGNING_KEY_ROTATION_DAYS
    )
    if (force or compromised or (due and nxt.created_at <= now - publish_lead)) and (
        current.kid not in out["activated"]
    ):
        _retire(current, now=now, compromised=compromised)
        nxt.status = SigningKey.Status.CURRENT
        nxt.activated_at = now
        nxt.save(update_fields=["status", "activated_at"])
        record(
            actor=SYSTEM,
            action="signing_key.rotate",
            target_type="signing_key",
            target_id=nxt.kid,
            reason="compromised" if compromised else ("forced" if force else "scheduled"),
            changes={"retired": current.kid, "current": nxt.kid},
        )
        out["activated"].append(nxt.kid)
        fresh = _new_key(algorithm=algorithm, status=SigningKey.Status.NEXT, now=now)
        out["created"].append(fresh.kid)
    for key in SigningKey.objects.select_for_update().filter(
        status=SigningKey.Status.RETIRED, publish_until__lte=now
    ):
        key.status = SigningKey.Status.EXPIRED
        key.save(update_fields=["status"])
        record(
            actor=SYSTEM,
            action="signing_key.expire",
            target_type="signing_key",
            target_id=key.kid,
            changes={"status": ["retired", "expired"]},
        )
        out["expired"].append(key.kid)
    transaction.on_commit(signing.forget)
    return out


@transaction.atomic
def signing_keys_rewrap() -> int:
    """Re-encrypt every private key under the newest wrapping key; returns how many."""
    count = 0
    for key in SigningKey.objects.select_for_update().exclude(status="expired"):
        key.private_key_encrypted = crypto.rewrap(key.private_key_encrypted)
        key.save(update_fields=["private_key_encrypted"])
        count += 1
    record(actor=SYSTEM, action="signing_key.rewrap", changes={"count": count})
    return count
