"""Delivering outbox rows by email: claim atomically, send, record the outcome.

Never twice between our processes: a row is claimed by one conditional UPDATE that only one
caller can win (not delivered, not given up, due, lease free), so the task queued on commit,
its Celery retry and the beat sweep cannot both send it. The lease outlives the Celery task
time limit, so it cannot lapse under a sender that is still working. Never lost: a row stays
due until it is marked delivered, so a task that was never queued, a broker that lost it or a
worker that died mid-send all end with the sweep sending it. The one window for a duplicate is
a worker dying after the mail server accepted the message and before the UPDATE that records
it; the retry then sends the same ``Message-ID``, which mail systems use to drop duplicates.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F
from django.utils import timezone

from .models import Notice, OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=10)  # > CELERY_TASK_TIME_LIMIT (300 s)
# The sweep leaves a fresh row to the task queued on its commit for this long.
SWEEP_GRACE = dt.timedelta(seconds=30)
SENDING_ERRORS = (smtplib.SMTPException, OSError)


@dataclass(frozen=True)
class Outcome:
    """``delivered``, ``retry`` (in ``retry_in`` seconds), ``failed`` (gave up) or ``skipped``
    (someone else holds or finished it, or it is not due yet)."""

    state: str
    retry_in: int | None = None


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes after each failure, at most six hours."""
    return dt.timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


def outbox_deliver(*, outbox_id: int, now: dt.datetime | None = None) -> Outcome:
    """Claim one outbox row and send it; safe to call any number of times."""
    now = now or timezone.now()
    claim = secrets.token_hex(16)
    won = (
        OutboxMessage.objects.due(now)
        .filter(pk=outbox_id)
        .update(lease_until=now + LEASE, claim=claim, attempts=F("attempts") + 1)
    )
    if not won:
        return Outcome("skipped")
    message = OutboxMessage.objects.select_related("notice__team", "notice__user").get(pk=outbox_id)
    try:
        sent = _send(message)
    except SENDING_ERRORS as exc:
        return _attempt_failed(message, claim, exc, now)
    OutboxMessage.objects.filter(pk=outbox_id, claim=claim).update(
        delivered_at=timezone.now(),
        lease_until=None,
        last_error="" if sent else "no recipient has an email address",
    )
    return Outcome("delivered")


def outbox_sweep(*, now: dt.datetime | None = None, batch_size: int = 200) -> dict[str, int]:
    """Deliver the rows nobody delivered (task never queued, lost, or due for a retry)."""
    now = now or timezone.now()
    due = (
        OutboxMessage.objects.due(now, grace=SWEEP_GRACE)
        .order_by("available_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    outcomes = Counter(outbox_deliver(outbox_id=pk, now=now).state for pk in list(due))
    return {"found": sum(outcomes.values()), **outcomes}


def _attempt_failed(
    message: OutboxMessage, claim: str, exc: Exception, now: dt.datetime
) -> Outcome:
    give_up = message.attempts >= MAX_ATTEMPTS
    wait = backoff(message.attempts)
    OutboxMessage.objects.filter(pk=message.pk, claim=claim).update(
        lease_until=None,
        available_at=now + wait,
        failed_at=now if give_up else None,
        last_error=f"{type(exc).__name__}: {exc}"[:500],
    )
    logger.warning(
        "notice outbox %s: attempt %s failed (%s)%s",
        message.pk,
        message.attempts,
        type(exc).__name__,
        "; giving up" if give_up else "",
    )
    if give_up:
        return Outcome("failed")
    return Outcome("retry", retry_in=int(wait.total_seconds()))


def recipients(notice: Notice) -> list[str]:
    """The addresses of the notice's person, or of its team's active members."""
    if notice.user_id:
        person = notice.user
        return [person.email] if person.is_active and person.email else []
    members = notice.team.members.filter(is_active=True).exclude(email="")
    return sorted(set(members.values_list("email", flat=True)))


def _send(message: OutboxMessage) -> bool:
    notice = message.notice
    to = recipients(notice)
    if not to:
        return False
    host = urlsplit(settings.OAUTH_ISSUER).hostname or "localhost"
    EmailMessage(
        subject=f"[Agent governance] {notice.subject}",
        body=_text(notice),
        to=to,
        # The same id on every attempt: a duplicate after a crash is recognisable as one.
        headers={"Message-ID": f"<notice-{message.pk}@{host}>"},
    ).send()
    return True


def _text(notice: Notice) -> str:
    base = settings.OAUTH_ISSUER
    link = f"{base}{notice.link}" if notice.link.startswith("/") else notice.link
    parts = [notice.body.strip()]
    if link:
        parts.append(f"Open: {link}")
    parts.append(f"Your notices: {base}/portal/notices/")
    return "\n\n".join(p for p in parts if p) + "\n"
