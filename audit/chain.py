"""The sequencer: chains committed, unsequenced entries in batches, off the request's hot path.

``record()`` only inserts a row. The sequencer takes the committed rows that have no ``seq`` yet,
in ``id`` order, and gives each the next ``seq``, its ``prev_hash`` and
``hash = SHA-256(canonical(entry) ‖ prev_hash)`` (see ``audit.verifier`` for the encoding).
Two sequencers never fork or skip: on PostgreSQL each batch runs under a transaction-scoped
advisory lock, and the head is read after the lock is held; SQLite serialises writers anyway
(``BEGIN IMMEDIATE``). A writer whose transaction commits late is simply chained later: ``seq`` is
the order in which entries became visible, not the order of ``id``.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

from django.db import connection, transaction

from .verifier import GENESIS, Link, entry_hash, format_time

# pg_advisory_xact_lock key: "audi" as a 32-bit integer. Unique among this project's locks.
SEQUENCER_LOCK = 0x61756469
BATCH_SIZE = 2000
ENTRY_TABLE = "audit_auditentry"
CHECKPOINT_TABLE = "audit_auditcheckpoint"
_COLUMNS = (
    "id, {created_at}, actor, actor_id, on_behalf_of, action, outcome, reason, resource, "
    "target_type, target_id, workflow_run, token_jti, credential_id, request_id, source_ip, "
    "changes, context"
)
# PostgreSQL formats the canonical UTC timestamp itself (in C): parsing a timestamptz into a
# Python datetime and formatting it again was a third of the verifier's time.
_PG_CREATED_AT = """to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def value_columns() -> str:
    """The SELECT list of the hashed fields for this database, in canonical order."""
    if connection.vendor == "postgresql":
        return _COLUMNS.format(created_at=_PG_CREATED_AT)
    return _COLUMNS.format(created_at="created_at")


_scan = json.JSONDecoder().scan_once  # the C scanner: no per-call wrapper overhead


def _json(text: Any) -> Any:
    if text.__class__ is not str:
        return text
    if text == "{}":
        return {}
    if text == "[]":
        return []
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def values_of(row: tuple) -> tuple:
    """The canonical field values of a raw ``value_columns()`` row."""
    created_at = row[1]
    if created_at.__class__ is not str:
        created_at = format_time(created_at)
    elif not created_at.endswith("Z"):  # SQLite without declared-type conversion
        created_at = format_time(dt.datetime.fromisoformat(created_at))
    return (
        row[0],
        created_at,
        *row[2:4],
        _json(row[4]),
        *row[5:15],
        row[15] or None,
        _json(row[16]),
        _json(row[17]),
    )


def chain_head() -> tuple[int, str]:
    """``(seq, hash)`` of the last chained entry, of the last archive, or ``(0, GENESIS)``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq, hash FROM {ENTRY_TABLE} WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"  # noqa: S608
        )
        row = cursor.fetchone()
        if row is not None:
            return int(row[0]), row[1]
        cursor.execute(
            f"SELECT seq, hash FROM {CHECKPOINT_TABLE} WHERE kind = 'archive' "  # noqa: S608
            "ORDER BY seq DESC LIMIT 1"
        )
        row = cursor.fetchone()
    return (int(row[0]), row[1]) if row is not None else (0, GENESIS)


def _anything_waiting() -> bool:
    # A plain read, outside any transaction: an idle poll takes no lock (on SQLite, BEGIN
    # IMMEDIATE would take the database's write lock ten times a second for nothing).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {ENTRY_TABLE} WHERE seq IS NULL LIMIT 1")  # noqa: S608
        return cursor.fetchone() is not None


def sequence_batch(*, batch_size: int = BATCH_SIZE) -> int:
    """Chain up to ``batch_size`` waiting entries in one transaction; returns how many."""
    if not _anything_waiting():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEQUENCER_LOCK])
        seq, prev_hash = chain_head()
        cursor.execute(
            f"SELECT {value_columns()} FROM {ENTRY_TABLE} WHERE seq IS NULL "  # noqa: S608
            "ORDER BY id LIMIT %s",
            [batch_size],
        )
        rows = cursor.fetchall()
        if not rows:
            return 0
        assignments = []
        for row in rows:
            seq += 1
            digest = entry_hash(values_of(row), prev_hash)
            assignments.append((row[0], seq, prev_hash, digest))
            prev_hash = digest
        _assign(cursor, assignments)
    return len(rows)


def _assign(cursor, assignments: list[tuple[int, int, str, str]]) -> None:
    if connection.vendor == "postgresql":
        placeholders = ",".join(["(%s::bigint, %s::bigint, %s, %s)"] * len(assignments))
        cursor.execute(
            f"UPDATE {ENTRY_TABLE} AS e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "  # noqa: S608
            f"FROM (VALUES {placeholders}) AS v(id, seq, prev_hash, hash) "
            "WHERE e.id = v.id AND e.seq IS NULL",
            [value for row in assignments for value in row],
        )
        updated = cursor.rowcount
    else:
        cursor.executemany(
            f"UPDATE {ENTRY_TABLE} SET seq = %s, prev_hash = %s, hash = %s "  # noqa: S608
            "WHERE id = %s AND seq IS NULL",
            [(seq, prev, digest, pk) for pk, seq, prev, digest in assignments],
        )
        updated = cursor.rowcount
    if updated != len(assignments):
        # Someone else chained these rows despite the lock: never write a fork.
        raise RuntimeError(f"sequencer assigned {updated} of {len(assignments)} rows; rolled back")


def sequence_pending(*, batch_size: int = BATCH_SIZE) -> int:
    """Chain every entry waiting now, batch after batch; returns how many."""
    total = 0
    while True:
        done = sequence_batch(batch_size=batch_size)
        total += done
        if done < batch_size:
            return total


def sequence_for(*, seconds: float, poll: float = 0.1, batch_size: int = BATCH_SIZE) -> int:
    """Keep draining for ``seconds`` (polling every ``poll`` s) so the delay stays sub-second."""
    deadline = time.monotonic() + seconds
    total = 0
    while True:
        total += sequence_pending(batch_size=batch_size)
        if time.monotonic() + poll >= deadline:
            return total
        time.sleep(poll)


def unsequenced_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {ENTRY_TABLE} WHERE seq IS NULL")  # noqa: S608
        return int(cursor.fetchone()[0])


def read_transaction():
    """One snapshot for a long read on PostgreSQL (server-side cursors need a transaction).

    Not on SQLite: its transactions begin IMMEDIATE and would hold the write lock for the whole
    read; a plain SQLite cursor streams anyway.
    """
    return transaction.atomic() if connection.vendor == "postgresql" else nullcontext()


def iter_links(
    *, from_seq: int | None = None, to_seq: int | None = None, chunk: int = 5000
) -> Iterator[tuple[Link, tuple]]:
    """Chained entries in ``seq`` order with their raw rows, streamed (server-side on PG)."""
    where = ["seq IS NOT NULL"]
    params: list[Any] = []
    if from_seq is not None:
        where.append("seq >= %s")
        params.append(from_seq)
    if to_seq is not None:
        where.append("seq <= %s")
        params.append(to_seq)
    sql = (
        f"SELECT seq, prev_hash, hash, {value_columns()} FROM {ENTRY_TABLE} "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY seq"
    )
    postgres = connection.vendor == "postgresql"
    new_link = tuple.__new__  # Link(...) through NamedTuple.__new__ costs a Python call
    scan = _json
    with read_transaction():
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, params)
            chunks = (
                _prefetched(cursor, chunk)
                if postgres
                else iter(lambda: cursor.fetchmany(chunk), [])
            )
            for rows in chunks:
                for row in rows:
                    if postgres:  # created_at is already canonical text (to_char)
                        values = (
                            row[3],
                            row[4],
                            row[5],
                            row[6],
                            scan(row[7]),
                            row[8],
                            row[9],
                            row[10],
                            row[11],
                            row[12],
                            row[13],
                            row[14],
                            row[15],
                            row[16],
                            row[17],
                            row[18] or None,
                            scan(row[19]),
                            scan(row[20]),
                        )
                    else:
                        values = values_of(row[3:])
                    yield new_link(Link, (row[0], row[3], row[1], row[2], values)), row
        finally:
            cursor.close()


def _prefetched(cursor, chunk: int) -> Iterator[list[tuple]]:
    """``cursor.fetchmany(chunk)`` results, the next one fetched in a thread meanwhile.

    PostgreSQL works on the next chunk (and the driver waits for it without holding the GIL)
    while this thread hashes the current one: on two cores the server's share of the walk
    overlaps the verifier's instead of adding to it. At most two chunks are held, so memory
    stays flat. The connection serialises its own use, so checkpoint reads in between are safe.
    """
    chunks: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: Any) -> None:
        while not stop.is_set():  # the consumer may have stopped reading: never block forever
            try:
                chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def fetch() -> None:
        try:
            while not stop.is_set():
                rows = cursor.fetchmany(chunk)
                offer(rows)
                if not rows:
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            offer(exc)

    worker = threading.Thread(target=fetch, name="audit-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            rows = chunks.get()
            if isinstance(rows, BaseException):
                raise rows
            if not rows:
                return
            yield rows
    finally:
        stop.set()
        worker.join()
