"""Issuing, revoking and rotating credentials of agents and resource servers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agents.events import trust_signals_changed
from agents.models import Agent, OrganisationPolicy, Resource
from agents.permissions import can_decide, can_manage_team
from audit.principals import By, actor_principal
from audit.services import record

from .. import crypto
from ..errors import CredentialError, CredentialForbidden
from ..models import Credential


@dataclass(frozen=True)
class IssuedCredential:
    """A new credential and, for a client secret, the secret: shown once, stored nowhere."""

    credential: Credential
    secret: str | None = None

    @property
    def client_id(self) -> str:
        return self.credential.client_id


def _owner_team_id(*, agent: Agent | None, resource: Resource | None) -> int | None:
    return agent.owner_team_id if agent is not None else resource.owner_team_id  # type: ignore[union-attr]


def _require(by: By, *, agent: Agent | None, resource: Resource | None, hands_out: bool) -> None:
    """Who may do it, checked here so that the admin, API, portal and CLI cannot disagree.

    ``by`` a person: handing out a credential (issue, rotate: the successor and its secret)
    needs the right to manage the owning team (its managers, platform admins); containment
    (revoke) is also open to security reviewers. A string principal (``system:cli``, an agent
    rotating the credential it authenticated with, Celery) was authenticated by its caller.
    """
    if by is None or isinstance(by, str):
        return
    team_id = _owner_team_id(agent=agent, resource=resource)
    if can_manage_team(by, team_id):
        return
    if hands_out:
        raise CredentialForbidden(
            "only the owning team's managers or a platform admin may hand out a credential; "
            "to contain, revoke it"
        )
    if not can_decide(by):
        raise CredentialForbidden("you may not revoke this credential")


def _audit(credential: Credential, *, action: str, by: By, reason: str = "", **changes) -> None:
    record(
        actor=actor_principal(by),
        action=action,
        resource=credential.principal,
        target_type="credential",
        target_id=credential.pk,
        credential_id=credential.pk,
        reason=reason,
        changes={"kind": credential.kind, **changes},
    )


@transaction.atomic
def credential_issue(
    *,
    agent: Agent | None = None,
    resource: Resource | None = None,
    kind: str = Credential.Kind.CLIENT_SECRET,
    public_jwk: dict[str, Any] | None = None,
    label: str = "",
    by: By = None,
    not_before: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    predecessor: Credential | None = None,
) -> IssuedCredential:
    """Issue a credential to an agent or a resource server; returns the one-time secret."""
    if (agent is None) == (resource is None):
        raise CredentialError("a credential belongs to exactly one agent or one resource server")
    _require(by, agent=agent, resource=resource, hands_out=True)
    if agent is not None and agent.status == Agent.Status.DECOMMISSIONED:
        raise CredentialError(f"agent {agent.slug} is decommissioned")
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise CredentialError("expires_at must be in the future")
    credential = Credential(
        id=crypto.new_credential_id(),
        agent=agent,
        resource=resource,
        kind=kind,
        label=label[:200],
        not_before=not_before or now,
        expires_at=expires_at,
        predecessor=predecessor,
        created_by=None if isinstance(by, str) or by is None else by,
        created_by_principal=actor_principal(by),
        created_at=now,
    )
    secret = None
    if kind == Credential.Kind.CLIENT_SECRET:
        if public_jwk:
            raise CredentialError("a client secret takes no public key")
        secret = crypto.new_client_secret(credential.id)
        parsed = crypto.parse_secret(secret)
        assert parsed is not None
        credential.secret_hmac = crypto.secret_hmac(credential.id, parsed.secret)
    elif kind == Credential.Kind.PUBLIC_KEY:
        try:
            jwk, algorithm, _ = crypto.validate_client_jwk(public_jwk)
        except crypto.InvalidJWK as exc:
            raise CredentialError(str(exc)) from exc
        credential.public_jwk = jwk
        credential.algorithm = algorithm
        credential.jwk_thumbprint = crypto.jwk_thumbprint(jwk)
        principal = Q(agent=agent) if agent else Q(resource=resource)
        if (
            Credential.objects.usable()
            .filter(principal, jwk_thumbprint=credential.jwk_thumbprint)
            .exists()
        ):
            raise CredentialError("this public key is already registered")
    else:
        raise CredentialError(f"unknown credential kind {kind!r}")
    try:
        with transaction.atomic():
            credential.save(force_insert=True)
    except IntegrityError as exc:  # a 64-bit id collision: astronomically rare, never silent
        raise CredentialError("could not allocate a credential id; try again") from exc
    _audit(
        credential,
        action="credential.issue",
        by=by,
        expires_at=expires_at.isoformat() if expires_at else None,
        predecessor=predecessor.pk if predecessor else None,
        thumbprint=credential.jwk_thumbprint or None,
    )
    if credential.agent_id:
        trust_signals_changed(credential.agent_id)
    return IssuedCredential(credential=credential, secret=secret)


def _end(credential: Credential, *, status: str, by: By, reason: str, action: str) -> None:
    before = credential.status
    credential.status = status
    credential.status_reason = reason
    credential.ended_at = timezone.now()
    credential.save(update_fields=["status", "status_reason", "ended_at"])
    _audit(credential, action=action, by=by, reason=reason, status=[before, status])
    if credential.agent_id:
        trust_signals_changed(credential.agent_id)


def _locked(credential: Credential) -> Credential:
    return (
        Credential.objects.select_for_update(of=("self",))
        .select_related("agent", "resource")
        .get(pk=credential.pk)
    )


@transaction.atomic
def credential_revoke(*, credential: Credential, by: By = None, reason: str = "") -> Credential:
    """Revoke a credential now: it stops authenticating and its tokens stop working."""
    locked = _locked(credential)
    _require(by, agent=locked.agent, resource=locked.resource, hands_out=False)
    if locked.status in (Credential.Status.REVOKED, Credential.Status.EXPIRED):
        raise CredentialError(f"credential {locked.pk} is already {locked.status}")
    _end(
        locked,
        status=Credential.Status.REVOKED,
        by=by,
        reason=reason,
        action="credential.revoke",
    )
    credential.status = locked.status
    return locked


@transaction.atomic
def credential_suspend(*, credential: Credential, by: By = None, reason: str = "") -> Credential:
    """Hold a live credential (an access review's quarantine): refused until restored.

    Containment, so open to reviewers as well as the owning team; nothing is handed out and
    the credential keeps its expiry, so restoring it gives back no more than it had.
    """
    locked = _locked(credential)
    _require(by, agent=locked.agent, resource=locked.resource, hands_out=False)
    if locked.status not in Credential.USABLE:
        raise CredentialError(f"credential {locked.pk} is {locked.status}: it cannot be suspended")
    before = locked.status
    locked.status = Credential.Status.SUSPENDED
    locked.status_reason = reason
    locked.save(update_fields=["status", "status_reason"])
    _audit(locked, action="credential.suspend", by=by, reason=reason, status=[before, "suspended"])
    credential.status = locked.status
    return locked


@transaction.atomic
def credential_restore(*, credential: Credential, by: By = None, reason: str = "") -> Credential:
    """Lift a suspension: back to rotating if a successor exists, else active; expired if its
    ``expires_at`` passed meanwhile. Lifting a hold one may place needs the same right."""
    locked = _locked(credential)
    _require(by, agent=locked.agent, resource=locked.resource, hands_out=False)
    if locked.status != Credential.Status.SUSPENDED:
        raise CredentialError(f"credential {locked.pk} is {locked.status}, not suspended")
    if locked.expires_at is not None and locked.expires_at <= timezone.now():
        _end(
            locked,
            status=Credential.Status.EXPIRED,
            by=by,
            reason="expires_at passed while suspended",
            action="credential.expire",
        )
    else:
        rotated = locked.successors.exclude(
            status__in=(Credential.Status.REVOKED, Credential.Status.EXPIRED)
        ).exists()
        locked.status = Credential.Status.ROTATING if rotated else Credential.Status.ACTIVE
        locked.status_reason = reason
        locked.save(update_fields=["status", "status_reason"])
        _audit(
            locked,
            action="credential.restore",
            by=by,
            reason=reason,
            status=["suspended", locked.status],
        )
    credential.status = locked.status
    return locked


@transaction.atomic
def credential_revoke_all(
    *,
    agent: Agent | None = None,
    resource: Resource | None = None,
    by: By = None,
    reason: str = "",
) -> int:
    """Revoke every live credential of one agent or resource server; returns how many."""
    if (agent is None) == (resource is None):
        raise CredentialError("name exactly one agent or one resource server")
    _require(by, agent=agent, resource=resource, hands_out=False)
    principal = Q(agent=agent) if agent else Q(resource=resource)
    rows = list(
        Credential.objects.select_for_update(of=("self",))
        .select_related("agent", "resource")
        .filter(principal, status__in=Credential.USABLE)
    )
    for credential in rows:
        _end(
            credential,
            status=Credential.Status.REVOKED,
            by=by,
            reason=reason or "revoke all",
            action="credential.revoke",
        )
    return len(rows)


@transaction.atomic
def credential_rotate(
    *,
    credential: Credential,
    by: By = None,
    emergency: bool = False,
    public_jwk: dict[str, Any] | None = None,
    reason: str = "",
) -> IssuedCredential:
    """Issue a successor; the predecessor keeps working for the overlap (none if emergency).

    The successor's secret goes to whoever rotates, so this hands out a credential even in an
    emergency: a reviewer contains with ``credential_revoke`` and leaves the successor to the
    owning team (issue 13: containment must only contain).
    """
    locked = _locked(credential)
    _require(by, agent=locked.agent, resource=locked.resource, hands_out=True)
    if not locked.is_usable():
        raise CredentialError(f"credential {locked.pk} is {locked.status}: it cannot be rotated")
    if locked.status == Credential.Status.ROTATING and not emergency:
        raise CredentialError(f"credential {locked.pk} has already been rotated")
    if locked.kind == Credential.Kind.PUBLIC_KEY and not public_jwk:
        raise CredentialError("rotating a public key needs the new public key")
    successor = credential_issue(
        agent=locked.agent,
        resource=locked.resource,
        kind=locked.kind,
        public_jwk=public_jwk,
        label=locked.label,
        by=by,
        predecessor=locked,
    )
    now = timezone.now()
    if emergency:
        _end(
            locked,
            status=Credential.Status.REVOKED,
            by=by,
            reason=reason or "emergency rotation",
            action="credential.rotate.emergency",
        )
    else:
        overlap = dt.timedelta(hours=OrganisationPolicy.current().rotation_overlap_hours)
        before = locked.status
        locked.status = Credential.Status.ROTATING
        until = now + overlap
        locked.expires_at = min(locked.expires_at, until) if locked.expires_at else until
        locked.save(update_fields=["status", "expires_at"])
        _audit(
            locked,
            action="credential.rotate",
            by=by,
            reason=reason,
            status=[before, locked.status],
            successor=successor.credential.pk,
            overlap_until=locked.expires_at.isoformat(),
        )
    credential.status, credential.expires_at = locked.status, locked.expires_at
    return successor
