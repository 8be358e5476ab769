"""One holder at a time across processes and hosts: the lock behind "exactly one beat" and
"exactly one audit sequencer", even when two are started by mistake.

On PostgreSQL it is a session advisory lock (``pg_try_advisory_lock``) on a connection of its
own, kept open while the lock is held: the server releases it the moment that connection ends,
so a holder that crashes, is killed or loses its network hands over without a lease to expire,
and a holder checks it still has it (``held``) before each piece of work. A session lock needs a
session: point ``DATABASE_URL`` at PostgreSQL itself or at a pooler in session mode, not one in
transaction mode. Advisory locks belong to one database, so two deployments (or two test
databases) on one server never meet.

On SQLite it is an exclusive ``flock`` on a file beside the database (one machine, which is all
the embedded default runs on). It lives in ``audit`` because ``audit`` imports no other app and
everyone may import it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key of ``name`` (the chain's own lock is a small int)."""
    return int.from_bytes(
        hashlib.sha256(f"governance:{name}".encode()).digest()[:8], "big", signed=True
    )


class Leadership:
    """The lock named ``name``: ``acquire()`` without waiting, ``held()``, ``release()``."""

    def __init__(self, name: str, *, using: str = DEFAULT_DB_ALIAS, own_connection: bool = True):
        """``own_connection=False``: hold it on Django's connection of this thread, for a lock
        taken and released within one task run (Django closes that connection between runs)."""
        self.name = name
        self.using = using
        self.own_connection = own_connection
        self._db: Any = None  # PostgreSQL: the connection that holds the lock
        self._fd: int | None = None  # SQLite: the locked file
        self._held = False

    @property
    def vendor(self) -> str:
        return connections[self.using].vendor

    def acquire(self) -> bool:
        """Take the lock if it is free (or already ours); never waits."""
        if self._held and self.held():
            return True
        try:
            self._held = self._try_pg() if self.vendor == "postgresql" else self._try_file()
        except Exception:  # the database is down: not held, try again later
            log.warning("lock %s: could not ask the database", self.name, exc_info=True)
            self._drop_connection()
            self._held = False
        return self._held

    def held(self) -> bool:
        """Still ours? On PostgreSQL, asks the server (the connection may have been lost)."""
        if not self._held:
            return False
        if self._db is None:
            return True  # the flock is ours until we let go or exit
        key = lock_key(self.name) & 0xFFFFFFFFFFFFFFFF  # pg_locks shows it as two unsigned halves
        try:
            with self._db.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND objsubid = 1 "
                    "AND classid = %s::bigint::oid AND objid = %s::bigint::oid",
                    [key >> 32, key & 0xFFFFFFFF],
                )
                still = cursor.fetchone()[0] == 1
        except Exception:
            log.warning("lock %s: lost the connection that held it", self.name, exc_info=True)
            still = False
        if not still:
            self._held = False
            self._drop_connection()
        return still

    def release(self) -> None:
        """Let go (also safe when not held)."""
        if self._db is not None:
            with contextlib.suppress(Exception):
                if self._held:
                    with self._db.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key(self.name)])
        if self._fd is not None and self._held:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._held = False
        if not self.own_connection:
            self._db = None  # Django's connection: the next acquire takes the thread's current one

    def close(self) -> None:
        """Release and close what holds the lock (the end of the process, or a test)."""
        self.release()
        self._drop_connection()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- the two kinds ------------------------------------------------------------------------

    def _try_pg(self) -> bool:
        if self._db is None:
            # By default not Django's per-thread connection: that one is closed between requests
            # and tasks (CONN_MAX_AGE), and closing it would drop the lock with it.
            self._db = (
                connections.create_connection(self.using)
                if self.own_connection
                else connections[self.using]
            )
        with self._db.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(self.name)])
            return bool(cursor.fetchone()[0])

    def _try_file(self) -> bool:
        if self._fd is None:
            self._fd = os.open(self.lock_path(), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def lock_path(self) -> str:
        db = connections[self.using]
        if db.vendor == "sqlite" and not db.is_in_memory_db():
            return f"{db.settings_dict['NAME']}.{self.name}.lock"
        return str(settings.VAR_DIR / f"{self.name}.lock")

    def _drop_connection(self) -> None:
        if self._db is not None and self.own_connection:
            with contextlib.suppress(Exception):
                self._db.close()
        self._db = None
