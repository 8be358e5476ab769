"""Writes of attestors and attestations: each one function, permission-checked and audited.

Platform admins register, change and revoke attestors. A submission is authenticated by its
own signature: ``attestation_submit`` verifies it against the attestor's registered key,
stores it verbatim and audits the acceptance; a refusal is audited too (a digest and a few
bounded fields of what was sent, never the submission itself), then raised.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from agents.events import trust_signals_changed
from agents.models import Agent
from agents.notices.services import notify
from agents.permissions import is_platform_admin
from audit.principals import By, actor_principal
from audit.services import record

from . import verify
from .models import CAP_MAX, Attestation, Attestor, ClaimType, Result
from .verify import Rejected

ATTESTATION_FAILED = "attestation.failed"  # the notice kind


class AttestorError(Exception):
    """A change to an attestor the service refuses, with a message fit for the caller."""


class AttestorForbidden(AttestorError):
    """Only platform admins manage attestors."""


def _require_admin(by: By) -> None:
    # "system" is the CLI without --by and the demo data; a person must be a platform admin.
    if isinstance(by, str):
        if by != "system":
            raise AttestorForbidden("only platform admins manage attestors")
    elif not is_platform_admin(by):
        raise AttestorForbidden("only platform admins manage attestors")


def queue_recompute(agent_ids: Iterable[int]) -> None:
    """Ask the trust engine to recompute these agents once the transaction commits."""
    for agent_id in sorted(set(agent_ids)):
        trust_signals_changed(agent_id)


def _clean_claim_types(claim_types: Any) -> list[str]:
    if not isinstance(claim_types, list | tuple) or not claim_types:
        raise ValidationError({"claim_types": "name at least one claim type"})
    unknown = [c for c in claim_types if c not in ClaimType.values]
    if unknown:
        raise ValidationError(
            {"claim_types": f"unknown claim type(s) {unknown}; known: {ClaimType.values}"}
        )
    return sorted(set(claim_types))


def _clean_cap(cap: Any) -> int:
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= CAP_MAX:
        raise ValidationError({"cap": f"the cap is a whole number from 1 to {CAP_MAX}"})
    return cap


def _attested_agents(attestor: Attestor) -> list[int]:
    return list(
        Attestation.objects.filter(attestor=attestor)
        .values_list("agent_id", flat=True)
        .distinct()
        .order_by()
    )


@transaction.atomic
def attestor_register(
    *,
    name: str,
    display_name: str,
    public_jwk: Any,
    claim_types: list[str],
    cap: int,
    by: By,
    kid: str = "",
) -> Attestor:
    """Register an attestor with its public key (Ed25519 or P-256), claim types and cap."""
    _require_admin(by)
    try:
        public, algorithm, thumbprint = verify.validate_attestor_jwk(public_jwk)
    except ValueError as exc:
        raise ValidationError({"public_jwk": str(exc)}) from exc
    attestor = Attestor(
        name=name,
        display_name=display_name or name,
        public_jwk=public,
        algorithm=algorithm,
        kid=kid or thumbprint,
        jwk_thumbprint=thumbprint,
        claim_types=_clean_claim_types(claim_types),
        cap=_clean_cap(cap),
        created_by=None if isinstance(by, str) else by,
    )
    attestor.full_clean()  # name format, uniqueness of name and kid
    if Attestor.objects.filter(jwk_thumbprint=thumbprint).exists():
        raise ValidationError({"public_jwk": "another attestor already has this key"})
    attestor.save()
    record(
        actor=actor_principal(by),
        action="attestor.register",
        resource=attestor.principal,
        target_type="attestor",
        target_id=attestor.pk,
        changes={
            "kid": [None, attestor.kid],
            "algorithm": [None, algorithm],
            "claim_types": [None, attestor.claim_types],
            "cap": [None, attestor.cap],
        },
    )
    return attestor


@transaction.atomic
def attestor_change(
    *,
    attestor: Attestor,
    by: By,
    reason: str,
    display_name: str | None = None,
    claim_types: list[str] | None = None,
    cap: int | None = None,
) -> Attestor:
    """Change what an attestor may say and how much it counts (its key never changes:
    a new key is a new attestor, so every stored statement stays verifiable)."""
    _require_admin(by)
    if not (reason or "").strip():
        raise ValidationError({"reason": "a change to an attestor needs a reason"})
    locked = Attestor.objects.select_for_update().get(pk=attestor.pk)
    new = {
        "display_name": display_name if display_name is not None else locked.display_name,
        "claim_types": (
            _clean_claim_types(claim_types) if claim_types is not None else locked.claim_types
        ),
        "cap": _clean_cap(cap) if cap is not None else locked.cap,
    }
    changes = {k: [getattr(locked, k), v] for k, v in new.items() if getattr(locked, k) != v}
    if not changes:
        return locked
    for key, value in new.items():
        setattr(locked, key, value)
    locked.save(update_fields=[*new, "updated_at"])
    record(
        actor=actor_principal(by),
        action="attestor.change",
        resource=locked.principal,
        target_type="attestor",
        target_id=locked.pk,
        reason=reason.strip(),
        changes=changes,
    )
    if {"claim_types", "cap"} & set(changes) and locked.is_active:
        queue_recompute(_attested_agents(locked))
    return locked


@transaction.atomic
def attestor_revoke(*, attestor: Attestor, by: By, reason: str) -> Attestor:
    """Revoke an attestor: its statements stay stored but count for nothing from now on."""
    _require_admin(by)
    if not (reason or "").strip():
        raise ValidationError({"reason": "revoking an attestor needs a reason"})
    locked = Attestor.objects.select_for_update().get(pk=attestor.pk)
    if not locked.is_active:
        raise AttestorError(f"attestor {locked.name} is already revoked")
    now = timezone.now()
    locked.status, locked.status_reason, locked.revoked_at = (
        Attestor.Status.REVOKED,
        reason.strip(),
        now,
    )
    locked.save(update_fields=["status", "status_reason", "revoked_at", "updated_at"])
    record(
        actor=actor_principal(by),
        action="attestor.revoke",
        resource=locked.principal,
        target_type="attestor",
        target_id=locked.pk,
        reason=reason.strip(),
        changes={"status": [Attestor.Status.ACTIVE.value, Attestor.Status.REVOKED.value]},
    )
    queue_recompute(_attested_agents(locked))
    attestor.status, attestor.status_reason, attestor.revoked_at = (
        locked.status,
        locked.status_reason,
        now,
    )
    return locked


# -- submissions ----------------------------------------------------------------------------


def _find_attestor(claimed: verify.Unverified) -> Attestor:
    """The attestor the submission names by ``kid`` or ``iss``; when it gives both, they must
    name the same attestor (a kid borrowed from another attestor is refused, not resolved)."""
    kid, iss = claimed.kid, claimed.iss
    if kid is not None:
        attestor = Attestor.objects.filter(kid=kid).first()
        if attestor is None:
            raise Rejected("unknown_attestor", "no attestor has this kid")
        if iss is not None and iss != attestor.name:
            raise Rejected("attestor_mismatch", "kid and iss name different attestors")
        return attestor
    if iss is None:
        raise Rejected("unknown_attestor", "name the attestor by kid (header) or iss (claim)")
    attestor = Attestor.objects.filter(name=iss).first()
    if attestor is None:
        raise Rejected("unknown_attestor", "no attestor has this name")
    return attestor


def _verified(jws: str, now: dt.datetime) -> tuple[Attestor, Agent, verify.Statement]:
    claimed = verify.peek(jws)
    attestor = _find_attestor(claimed)
    if not attestor.is_active:
        raise Rejected("attestor_revoked", "this attestor has been revoked")
    claims = verify.verify_signature(jws, claimed.header, attestor.algorithm, attestor.public_jwk)
    statement = verify.check_claims(
        claims,
        issuer=attestor.name,
        claim_types=attestor.claim_types,
        audience=settings.OAUTH_ISSUER,
        now=now,
    )
    agent = Agent.objects.filter(slug=statement.agent_slug).first()
    if agent is None:
        raise Rejected("unknown_subject", "sub names no registered agent")
    if Attestation.objects.filter(attestor=attestor, jti=statement.jti).exists():
        raise Rejected("replayed", "this attestor already submitted an attestation with this jti")
    return attestor, agent, statement


def _bounded(value: Any, length: int = 80) -> str:
    return value[:length] if isinstance(value, str) else ""


def _record_rejection(jws: str, exc: Rejected) -> None:
    """Audit a refusal with bounded fields: what was claimed, never the submission itself."""
    claimed = verify.Unverified({}, {})
    parts = jws.split(".")
    if len(jws) <= verify.MAX_JWS_BYTES and len(parts) == 3:
        with contextlib.suppress(Rejected):
            claimed = verify.Unverified(verify.decode_segment(parts[0]), {})
            claimed = verify.Unverified(claimed.header, verify.decode_segment(parts[1]))
    with transaction.atomic():
        record(
            actor="anonymous",
            action="attestation.submit",
            outcome="denied",
            reason=exc.code,
            resource=_bounded(claimed.claims.get("sub")),
            target_type="attestor",
            context_data={
                "kid": _bounded(claimed.header.get("kid")),
                "iss": _bounded(claimed.claims.get("iss")),
                "alg": _bounded(claimed.header.get("alg"), 20),
                "claim_type": _bounded(claimed.claims.get("claim_type"), 40),
                "jti": _bounded(claimed.claims.get("jti")),
                "size": len(jws),
                "sha256": hashlib.sha256(jws.encode()).hexdigest(),
            },
        )


def _notify_failure(attestor: Attestor, agent: Agent, attestation: Attestation) -> None:
    """A failed attestation is for the owning team to look at (in the same transaction)."""
    claim = ClaimType(attestation.claim_type).label.lower()
    notify(
        kind=ATTESTATION_FAILED,
        subject=f"{agent.slug}: {claim} failed ({attestor.display_name})",
        body=(
            f"{attestor.display_name} attests that {agent.principal} failed its {claim} "
            f"(issued {attestation.issued_at:%Y-%m-%d}, valid until "
            f"{attestation.expires_at:%Y-%m-%d}). It replaces any earlier result of this kind "
            "from this attestor and earns the agent no attestation points; resolve the "
            "findings and ask the attestor for a new attestation."
        ),
        team=agent.owner_team,
        link=reverse("portal:agent-detail", kwargs={"slug": agent.slug}),
        dedupe_key=f"attestation:{attestation.pk}",
    )


def attestation_submit(*, jws: str) -> Attestation:
    """Verify and store a submitted attestation; ``Rejected`` (after auditing) if refused."""
    now = timezone.now()
    try:
        attestor, agent, statement = _verified(jws, now)
        with transaction.atomic():
            attestation = Attestation.objects.create(
                attestor=attestor,
                agent=agent,
                claim_type=statement.claim_type,
                result=statement.result,
                jti=statement.jti,
                issued_at=statement.issued_at,
                expires_at=statement.expires_at,
                config_digest=statement.config_digest,
                jws=jws,
            )
            record(
                actor=attestor.principal,
                action="attestation.submit",
                resource=agent.principal,
                target_type="attestation",
                target_id=attestation.pk,
                context_data={
                    "claim_type": statement.claim_type,
                    "result": statement.result,
                    "jti": statement.jti,
                    "expires_at": statement.expires_at.isoformat(),
                    "config_digest": statement.config_digest,
                },
            )
            if statement.result == Result.FAIL:
                _notify_failure(attestor, agent, attestation)
            queue_recompute([agent.pk])
    except IntegrityError as exc:  # a concurrent submission of the same jti won the race
        rejected = Rejected("replayed", "this attestor already submitted this jti")
        _record_rejection(jws, rejected)
        raise rejected from exc
    except Rejected as exc:
        _record_rejection(jws, exc)
        raise
    return attestation
