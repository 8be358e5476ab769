"""The rotation sweep's two jobs (beat ``credentials.rotation_sweep``): tell owning teams a
credential nears its maximum age, and expire credentials past ``expires_at``. Safe to re-run."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from agents.models import OrganisationPolicy, Team
from agents.notices.models import Notice, NoticeKind
from agents.notices.services import notify
from audit.principals import SYSTEM

from ..models import Credential
from .credentials import _audit, _end

ROTATION_WARNING = dt.timedelta(days=7)


def _team_of(credential: Credential) -> Team:
    return credential.agent.owner_team if credential.agent_id else credential.resource.owner_team


def credentials_flag_due(*, now: dt.datetime | None = None) -> int:
    """Notify owning teams of live credentials nearing the maximum age; safe to re-run.

    The notice (kind ``credential.rotation_due``, deduplicated on the credential id) is also
    what marks a credential as flagged: a re-run skips it in the query.
    """
    now = now or timezone.now()
    max_age = dt.timedelta(days=OrganisationPolicy.current().credential_max_age_days)
    cutoff = now - max_age + min(ROTATION_WARNING, max_age / 2)
    flagged_already = Notice.objects.filter(kind=NoticeKind.ROTATION_DUE, dedupe_key=OuterRef("pk"))
    due = (
        Credential.objects.filter(status=Credential.Status.ACTIVE, created_at__lte=cutoff)
        .exclude(Exists(flagged_already))
        .select_related("agent__owner_team", "resource__owner_team")
    )
    flagged = 0
    for credential in due.iterator():
        with transaction.atomic():
            # Two sweeps at once: the second waits here and then finds the notice.
            Credential.objects.select_for_update().filter(pk=credential.pk).first()
            if Notice.objects.filter(
                kind=NoticeKind.ROTATION_DUE, dedupe_key=credential.pk
            ).exists():
                continue
            age_limit = credential.created_at + max_age
            notify(
                kind=NoticeKind.ROTATION_DUE,
                subject=f"Rotate credential {credential.pk} of {credential.principal}",
                body=(
                    f"Credential {credential.pk} of {credential.principal} reaches the "
                    f"maximum age on {age_limit:%Y-%m-%d %H:%M} UTC: rotate it."
                ),
                team=_team_of(credential),
                link=_portal_link(credential),
                dedupe_key=credential.pk,
            )
            _audit(
                credential,
                action="credential.rotation_due",
                by=SYSTEM,
                max_age_at=age_limit.isoformat(),
            )
            flagged += 1
    return flagged


def _portal_link(credential: Credential) -> str:
    """The page a notice points to (resource servers have none in the portal)."""
    return f"/portal/agents/{credential.agent.slug}/" if credential.agent_id else ""


def credentials_expire_due(*, now: dt.datetime | None = None, batch_size: int = 200) -> int:
    """Expire live credentials past ``expires_at`` (predecessors whose overlap ended, …)."""
    now = now or timezone.now()
    count = 0
    while True:
        with transaction.atomic():
            batch = list(
                Credential.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("agent__owner_team", "resource__owner_team")
                .filter(
                    status__in=(*Credential.USABLE, Credential.Status.SUSPENDED),
                    expires_at__lte=now,
                )[:batch_size]
            )
            for credential in batch:
                was_rotating = credential.status == Credential.Status.ROTATING
                _end(
                    credential,
                    status=Credential.Status.EXPIRED,
                    by=SYSTEM,
                    reason="rotation overlap ended" if was_rotating else "expires_at passed",
                    action="credential.expire",
                )
                notify(
                    kind=NoticeKind.CREDENTIAL_EXPIRED,
                    subject=f"Credential {credential.pk} of {credential.principal} expired",
                    body=f"Credential {credential.pk} of {credential.principal} has expired "
                    f"({'its rotation overlap ended' if was_rotating else 'expires_at passed'}).",
                    team=_team_of(credential),
                    link=_portal_link(credential),
                    dedupe_key=credential.pk,
                )
        count += len(batch)
        if len(batch) < batch_size:
            return count
