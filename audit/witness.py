"""The witness: every signed checkpoint is also written outside the database.

Signed checkpoints in the database prove nothing to someone who can delete them together with
the entries they cover. The witness is a copy kept where the database's writers cannot rewrite
it: an append-only JSON Lines file (on another host's mount, with ``chattr +a``) or an HTTP
endpoint (``python -m audit.witness_server``, or any service that appends what is POSTed and
lists it on GET), named by ``AUDIT_WITNESS_URL``. ``audit verify`` then checks the chain against
every witnessed checkpoint, and that the witness is current.

A failed write loses nothing: the checkpoint stays in the database, the failure is logged and
left on the ``AuditWitnessMark`` (``audit.selectors.witness_lag`` grows), and the next run
writes again from the first checkpoint the witness has not received. A write repeated after a
crash appears twice in the witness, which the verifier reads as one.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .export import checkpoint_record
from .models import AuditCheckpoint, AuditWitnessMark
from .references import is_url

log = logging.getLogger(__name__)

WRITE_TIMEOUT = 5  # seconds per HTTP write: the checkpoint task must not hang on the witness
BATCH = 500  # checkpoints written per run at most (a witness that was down catches up in runs)


class WitnessError(Exception):
    """The witness did not take a checkpoint."""


def location() -> str:
    return settings.AUDIT_WITNESS_URL


def display(where: str) -> str:
    """The witness's location without credentials or query (for logs, errors and the mark)."""
    if not is_url(where):
        return where
    parts = urllib.parse.urlsplit(where)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def append(where: str, record: dict[str, Any], *, token: str = "") -> None:
    """Append one record to the witness; raises ``WitnessError`` if it was not taken."""
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    try:
        if is_url(where):
            _post(where, line.encode(), token)
        else:
            _append_line(Path(where.removeprefix("file://")), line.encode())
    except (OSError, ValueError) as exc:  # urllib's errors are OSErrors
        raise WitnessError(f"{display(where)}: {exc}") from exc


def _append_line(path: Path, data: bytes) -> None:
    # O_APPEND: each write lands at the end even with two writers; fsync before it counts.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _post(url: str, data: bytes, token: str) -> None:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=WRITE_TIMEOUT) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise WitnessError(f"HTTP {response.status}")


def witness_publish() -> int:
    """Write the checkpoints the witness has not received, oldest first; returns how many.

    No lock is held while writing (on SQLite a transaction would stop every writer for as long
    as the witness takes): two runs at once may write a checkpoint twice, which is harmless.
    """
    where = location()
    if not where:
        return 0
    name = display(where)
    mark = AuditWitnessMark.objects.filter(witness=name).first()
    if mark is None:
        # A new witness starts at the newest checkpoint: older ones were never witnessed.
        newest = AuditCheckpoint.objects.order_by("-id").values_list("id", flat=True).first()
        mark, _ = AuditWitnessMark.objects.get_or_create(
            witness=name, defaults={"checkpoint_id": (newest or 1) - 1}
        )
    pending = AuditCheckpoint.objects.filter(id__gt=mark.checkpoint_id).order_by("id")[:BATCH]
    written, last_id, error = 0, mark.checkpoint_id, ""
    # Each write is checked before the next: the witness never holds a gap.
    for checkpoint in pending:
        try:
            append(where, checkpoint_record(checkpoint), token=settings.AUDIT_WITNESS_TOKEN)
        except WitnessError as exc:
            error = str(exc)
            log.error(
                "audit witness: checkpoint %s (seq %s) not written, will retry: %s",
                checkpoint.pk,
                checkpoint.seq,
                error,
            )
            break
        written, last_id = written + 1, checkpoint.pk
    _remember(mark, last_id=last_id, written=written, error=error)
    return written


def _remember(mark: AuditWitnessMark, *, last_id: int, written: int, error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        mark = AuditWitnessMark.objects.select_for_update().get(pk=mark.pk)
        if last_id > mark.checkpoint_id:
            mark.checkpoint_id, mark.published_at = last_id, now
        if error:
            mark.failures, mark.last_error, mark.failed_at = mark.failures + 1, error, now
        else:  # caught up with everything pending
            mark.failures, mark.last_error = 0, ""
        mark.save()
