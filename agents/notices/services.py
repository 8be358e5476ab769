"""Raising notices and marking them read. ``notify`` is what every app calls.

Reading a notice is a person's own bookkeeping, not a change to governed state: it is not
audited (the change that raised the notice is, by its own service).
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.utils import timezone

from .models import Notice, NoticeRead, OutboxMessage, kind_validator

logger = logging.getLogger(__name__)

SUBJECT_MAX = Notice._meta.get_field("subject").max_length


def notify(
    *,
    kind: str,
    subject: str,
    body: str,
    team=None,
    user=None,
    link: str = "",
    dedupe_key: str = "",
) -> Notice:
    """Write a notice to ``team`` or ``user`` (exactly one) and its email outbox row.

    Call it inside the transaction of the change that causes it: both rows commit or roll back
    with that change, and the email task is queued only on commit. With ``dedupe_key`` the
    event is raised once per ``(kind, dedupe_key)``: a repeat returns the first notice and
    sends nothing.
    """
    if (team is None) == (user is None):
        raise ValueError("A notice goes to a team or to a person: give exactly one.")
    kind_validator(kind)
    if (
        link
        and not (link.startswith("/") and not link.startswith("//"))
        and not (link.startswith("https://") or link.startswith("http://"))
    ):
        raise ValueError("A notice's link is a path on this site or an http(s) URL.")
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1] + "…"
    fields = {"subject": subject, "body": body, "link": link, "team": team, "user": user}
    with transaction.atomic():
        if dedupe_key:
            notice, created = Notice.objects.get_or_create(
                kind=kind, dedupe_key=dedupe_key, defaults=fields
            )
            if not created:
                return notice
        else:
            notice = Notice.objects.create(kind=kind, **fields)
        message = OutboxMessage.objects.create(notice=notice, channel=OutboxMessage.Channel.EMAIL)
        transaction.on_commit(partial(_enqueue, message.pk))
    return notice


def _enqueue(outbox_id: int) -> None:
    from .tasks import deliver

    try:
        deliver.delay(outbox_id)
    except Exception:  # the broker is down: the change is committed, the beat sweep sends it
        logger.warning("notice outbox %s not queued; the sweep will deliver it", outbox_id)


def notice_mark_read(*, notice_id: int, user) -> Notice:
    """Mark one of the user's notices read; another's is ``Notice.DoesNotExist`` (a 404)."""
    notice = Notice.objects.addressed_to(user).get(pk=notice_id)
    NoticeRead.objects.bulk_create([NoticeRead(notice=notice, user=user)], ignore_conflicts=True)
    return notice


def notices_mark_all_read(*, user) -> int:
    """Mark every unread notice of the user read; returns how many were unread."""
    now = timezone.now()
    unread = Notice.objects.addressed_to(user).unread_by(user).values_list("pk", flat=True)
    rows = [NoticeRead(notice_id=pk, user=user, read_at=now) for pk in unread]
    NoticeRead.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)
