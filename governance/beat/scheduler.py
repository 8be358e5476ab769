"""Exactly one beat: django-celery-beat's scheduler, sending only while it holds the beat lock.

Two beats would send every periodic task twice. Each is idempotent, but twice the sequencer and
checkpoint runs is waste and a surprise, and operators do start a second beat by mistake (a
second host with the same unit, ``honcho start -c beat=2``, an old process not stopped). So
every beat starts, and the one that takes the lock (``audit.leader``: a PostgreSQL session
advisory lock, or an ``flock`` beside the SQLite file) sends; any other stands by, tries again
every second, and takes over within about a second of the holder stopping or dying. The holder
checks it still holds the lock before each tick, so one that lost its database connection
stops sending at once.

    CELERY_BEAT_SCHEDULER = "governance.beat.scheduler:SingleBeatScheduler"
"""

from __future__ import annotations

import logging
from typing import Any

from django_celery_beat.schedulers import DatabaseScheduler

from audit.leader import Leadership

log = logging.getLogger(__name__)

LOCK_NAME = "celery-beat"
STANDBY_RETRY_SECONDS = 1.0


class SingleBeatScheduler(DatabaseScheduler):
    """A ``DatabaseScheduler`` that sends due tasks only while this beat holds the lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._leadership = Leadership(LOCK_NAME)
        self._leading: bool | None = None  # None: not yet known (log the first state once)
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        leading = self._leadership.acquire()
        if leading != self._leading:
            self._changed(leading)
        if not leading:
            return STANDBY_RETRY_SECONDS
        return super().tick(*args, **kwargs)

    def _changed(self, leading: bool) -> None:
        if leading:
            log.info("beat: this beat holds the lock and sends the periodic tasks")
            # Read the schedule afresh: the previous holder ran tasks since this one started.
            self._initial_read = True
            self._heap = None
        elif self._leading is None:
            log.warning("beat: another beat holds the lock; this one stands by")
        else:
            log.warning("beat: lost the lock; this one stands by")
        self._leading = leading

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leadership.close()
