"""Turns for SQLite's single writer: hot writers queue in the kernel, not in SQLite's sleeps.

SQLite lets one connection write at a time, database-wide. A writer that finds the lock taken
waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries however
soon the lock frees. Under load that was the tail of the audited hot paths on the embedded
default, where a write holds the lock far shorter than those sleeps. So those writers first
take an exclusive ``flock`` on a file beside the database: a waiter sleeps in the kernel and is
woken the moment the holder lets go (the p99 before and after: ``docs/oauth.md``).

Only outside a transaction. Inside one, a SQLite connection already holds the write lock (our
transactions begin IMMEDIATE), and waiting for a turn while holding it could deadlock with a
turn's holder waiting for SQLite. Writers that take no turn (the admin, the ORM elsewhere) are
unaffected: they meet the turn holders in the busy handler, as before. Nothing happens on
PostgreSQL, nor for an in-memory database (one process).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from typing import Any

from django.db import transaction

_files = threading.local()  # path -> this thread's open file of it, and how deep in its turn


@contextlib.contextmanager
def writer_turn(db: Any) -> Iterator[None]:
    """The block runs in this writer's turn when ``db`` is a SQLite file outside a transaction."""
    if db.vendor != "sqlite" or db.in_atomic_block or db.is_in_memory_db():
        yield
        return
    with turn(f"{db.settings_dict['NAME']}.write-lock"):
        yield


@contextlib.contextmanager
def atomic_in_turn(db: Any, *, savepoint: bool = True) -> Iterator[None]:
    """``transaction.atomic`` begun in this writer's turn (see ``writer_turn``)."""
    with writer_turn(db), transaction.atomic(using=db.alias, savepoint=savepoint):
        yield


@contextlib.contextmanager
def turn(path: str) -> Iterator[None]:
    """Hold the exclusive lock on ``path`` (created if missing) for the block; re-entrant.

    One open file per thread: an ``flock`` belongs to an open file, so two threads sharing one
    would both "hold" it at once.
    """
    if not hasattr(_files, "by_path"):
        _files.by_path, _files.depth = {}, {}
    fd = _files.by_path.get(path)
    if fd is None:
        fd = _files.by_path[path] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    depth = _files.depth.get(path, 0)
    if depth == 0:
        fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
    _files.depth[path] = depth + 1
    try:
        yield
    finally:
        _files.depth[path] = depth
        if depth == 0:
            fcntl.flock(fd, fcntl.LOCK_UN)
