"""Writing audit entries. Every service that changes state calls ``record()`` in its transaction."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone

from . import chain, context, jsontext
from .bulk import insert_rows, server_binding_cursor
from .models import AuditCheckpoint, AuditEntry
from .redaction import redact, storable
from .sqlite_turns import atomic_in_turn, writer_turn
from .verifier import CANONICAL_VERSION, jws_header
from .verifier import FIELDS as ENTRY_FIELDS

Signer = Callable[[dict[str, Any]], str]
# A piece of SQL from the caller's own code (never from input) and its parameters.
Statement = tuple[str, list]


class AuditWriteError(Exception):
    """The entry could not be written; the action it records must not happen (fail closed)."""


class AuditGuardFailed(Exception):
    """``record_row(only_if=…)``: the condition was false at the INSERT, so nothing was written."""


class EntryFields(TypedDict, total=False):
    """What an entry may say besides its actor and action (every field optional)."""

    outcome: str
    reason: str
    resource: str
    target_type: str
    target_id: str | int
    actor_id: str | int
    on_behalf_of: Iterable[str]
    workflow_run: str
    token_jti: str
    credential_id: str | int
    changes: Mapping[str, Any] | None
    context_data: Mapping[str, Any] | None


def record(*, actor: str, action: str, **entry: Unpack[EntryFields]) -> AuditEntry:
    """Append one entry; raises if it cannot be written, so the caller's action rolls back.

    Only an INSERT: hashing happens later in the sequencer (``audit.chain``), off the hot path.
    The INSERT is ``record_row()``'s hand-written one (the ORM's ``create()`` cost as much CPU
    again); the returned instance carries exactly the values written.
    """
    now = timezone.now()
    fields = _fields(actor=actor, action=action, **entry)
    entry = AuditEntry(id=_write(now, fields), created_at=now, prev_hash="", hash="", **fields)
    entry._state.adding = False  # it is a saved row (and append-only from here on)
    entry._state.db = connection.alias
    return entry


def record_many(entries: Iterable[tuple[str, str, EntryFields]]) -> int:
    """Append many ``(actor, action, fields)`` entries in one round trip; returns how many.

    For bulk work inside one transaction (a recomputation whose policy change moves thousands of
    agents a level): the same values and redaction as ``record()``, in one statement
    (``audit.bulk.insert_rows``) where ``record()`` costs a round trip each. Raises
    ``AuditWriteError`` like it.
    """
    db = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    rows = [_values(db, now, _fields(actor=a, action=b, **fields)) for a, b, fields in entries]
    if not rows:
        return 0
    try:
        with writer_turn(db):
            insert_rows(AuditEntry, _FAST_COLUMNS, rows)
    except DatabaseError as exc:
        raise AuditWriteError(f"{len(rows)} audit entries could not be written") from exc
    return len(rows)


def _fields(
    *,
    actor: str,
    action: str,
    outcome: str = AuditEntry.Outcome.SUCCESS,
    reason: str = "",
    resource: str = "",
    target_type: str = "",
    target_id: str | int = "",
    actor_id: str | int = "",
    on_behalf_of: Iterable[str] = (),
    workflow_run: str = "",
    token_jti: str = "",
    credential_id: str | int = "",
    changes: Mapping[str, Any] | None = None,
    context_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of an entry, as ``AuditEntry.objects.create`` would have stored them."""
    ctx = context.current()
    return _storable_text(
        {
            "actor": actor,
            "actor_id": str(actor_id),
            "on_behalf_of": list(on_behalf_of),
            "action": action,
            "outcome": outcome,
            "reason": reason,
            "resource": resource,
            "target_type": target_type,
            "target_id": str(target_id),
            "workflow_run": workflow_run,
            "token_jti": token_jti,
            "credential_id": str(credential_id),
            "request_id": ctx.request_id,
            # The field's own normalisation (IPv6 forms), as the ORM applies it on save.
            "source_ip": _SOURCE_IP.get_prep_value(ctx.source_ip) or None,
            "changes": redact(changes or {}),
            "context": redact(context_data or {}),
        }
    )


def _storable_text(fields: dict[str, Any]) -> dict[str, Any]:
    """Text columns as the database can hold them: NUL written out, cut to the column's length.
    They may carry what a caller presented (a client id, a resource); an entry that cannot be
    written refuses the action it records, so a hostile value would be a 503, not a 400."""
    for name, limit in _TEXT_COLUMNS:
        value = storable(fields[name])
        fields[name] = value[:limit] if limit and len(value) > limit else value
    return fields


# The entry's text columns that _fields fills (not the chain's hashes and signature), and
# their lengths (None: a TextField).
_TEXT_COLUMNS = [
    (name, AuditEntry._meta.get_field(name).max_length)
    for name in (
        "actor", "actor_id", "action", "outcome", "reason", "resource", "target_type",
        "target_id", "workflow_run", "token_jti", "credential_id", "request_id",
    )
]  # fmt: skip
_SOURCE_IP = AuditEntry._meta.get_field("source_ip")
_dumps = jsontext.dumps  # the text JSONField stores (no custom encoder on these fields)


@dataclass(frozen=True)
class Row:
    """A row of the caller's own table to insert with the entry, committed with it or not at all
    (``record_row(along_with=…)``): the table, and its column values ready for the database."""

    table: str
    values: Mapping[str, Any]


def _values(db: Any, now: Any, fields: dict[str, Any]) -> list[Any]:
    """The entry's values in ``_FAST_COLUMNS`` order, ready for the database."""
    return [
        db.ops.adapt_datetimefield_value(now),
        fields["actor"],
        fields["actor_id"],
        _dumps(fields["on_behalf_of"]),
        fields["action"],
        fields["outcome"],
        fields["reason"],
        fields["resource"],
        fields["target_type"],
        fields["target_id"],
        fields["workflow_run"],
        fields["token_jti"],
        fields["credential_id"],
        fields["request_id"],
        fields["source_ip"],
        _dumps(fields["changes"]),
        _dumps(fields["context"]),
        "",
        "",
    ]


def _write(
    now: Any,
    fields: dict[str, Any],
    only_if: Statement | None = None,
    along_with: Row | None = None,
) -> int:
    """One INSERT of the entry; returns its id.

    ``only_if``: the INSERT is ``INSERT … SELECT <values> WHERE <condition>``, so the database
    checks the condition and writes in one statement, on one snapshot; no row written means the
    condition was false (``AuditGuardFailed``). ``along_with``: the caller's row goes in the
    same statement (PostgreSQL: a data-modifying CTE, under the same condition) or the same
    transaction (elsewhere); its ``IntegrityError`` (a key already there) propagates unchanged.
    Any other database error becomes ``AuditWriteError``.
    """
    db = connections[DEFAULT_DB_ALIAS]  # ``connection`` itself: one thread-local lookup
    values = _values(db, now, fields)
    returning = db.features.can_return_columns_from_insert
    # PostgreSQL runs ``along_with`` inside the entry's own statement: one round trip where
    # BEGIN, two INSERTs and COMMIT were four. Elsewhere both statements share a transaction.
    combined = along_with is not None and db.vendor == "postgresql"
    guard = only_if[0] if only_if is not None else ""
    along = (along_with.table, tuple(along_with.values)) if combined else None
    sql = _insert_sql(db.vendor, returning, guard, along)
    # The parameters in the order their placeholders appear in ``sql``.
    guard_params = list(only_if[1]) if only_if is not None else []
    if combined:
        params = [*guard_params, *along_with.values.values(), *values]
    else:
        params = [*values, *guard_params]
    separate = along_with is not None and not combined
    with atomic_in_turn(db, savepoint=False) if separate else writer_turn(db):
        if separate:
            with db.cursor() as cursor:
                cursor.execute(*_plain_insert(along_with))
        try:
            with server_binding_cursor(db) as cursor:
                cursor.execute(sql, params)
                if returning:
                    row = cursor.fetchone()
                    written = row is not None
                else:
                    written = cursor.rowcount == 1
                if not written:
                    # Only a guarded INSERT writes no row: its condition was false. Inside a
                    # transaction (``separate``) raising rolls back ``along_with`` as well.
                    raise AuditGuardFailed(fields["action"])
                return int(row[0]) if returning else int(cursor.lastrowid)
        except IntegrityError as exc:
            if combined:
                raise  # the entry has no unique key: ``along_with``'s, the caller's to handle
            raise AuditWriteError(
                f"audit entry for {fields['action']!r} could not be written"
            ) from exc
        except DatabaseError as exc:
            # Raised inside the caller's atomic block, so its whole transaction rolls back.
            raise AuditWriteError(
                f"audit entry for {fields['action']!r} could not be written"
            ) from exc


# The columns record_row() writes: every canonical field but the id, and the chain columns.
_FAST_COLUMNS = (*ENTRY_FIELDS[1:], "prev_hash", "hash")


def _plain_insert(row: Row) -> Statement:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in row.values)
    marks = ", ".join(["%s"] * len(row.values))
    sql = f"INSERT INTO {quote(row.table)} ({columns}) VALUES ({marks})"  # noqa: S608
    return sql, list(row.values.values())


@functools.lru_cache(maxsize=16)
def _insert_sql(
    vendor: str, returning: bool, guard: str, along: tuple[str, tuple[str, ...]] | None
) -> str:
    """The entry's INSERT: plain; guarded (``INSERT … SELECT … WHERE guard``); or on PostgreSQL
    with the caller's row in a CTE that inserts only under the same guard."""
    quote = connection.ops.quote_name
    cols = ", ".join(quote(AuditEntry._meta.get_field(c).column) for c in _FAST_COLUMNS)
    marks = ", ".join(["%s"] * len(_FAST_COLUMNS))
    table = quote(AuditEntry._meta.db_table)
    ctes = []
    if along is None:
        source = f"SELECT {marks} WHERE {guard}" if guard else f"VALUES ({marks})"
    elif guard:
        # The guard once, as a row that exists only if the condition holds; both INSERTs
        # select from it, so either both write or neither does.
        along_table, along_cols = along
        ctes.append(f"guard AS (SELECT 1 WHERE {guard})")
        ctes.append(
            f"along_with AS (INSERT INTO {quote(along_table)} "  # noqa: S608
            f"({', '.join(quote(c) for c in along_cols)}) "
            f"SELECT {', '.join(['%s'] * len(along_cols))} FROM guard)"
        )
        source = f"SELECT {marks} FROM guard"  # noqa: S608
    else:
        along_table, along_cols = along
        ctes.append(
            f"along_with AS (INSERT INTO {quote(along_table)} "  # noqa: S608
            f"({', '.join(quote(c) for c in along_cols)}) "
            f"VALUES ({', '.join(['%s'] * len(along_cols))}))"
        )
        source = f"VALUES ({marks})"
    sql = f"INSERT INTO {table} ({cols}) {source}"
    if ctes:
        sql = f"WITH {', '.join(ctes)} {sql}"
    return sql + (f" RETURNING {quote('id')}" if returning else "")


def record_row(
    *,
    actor: str,
    action: str,
    only_if: Statement | None = None,
    along_with: Row | None = None,
    **entry: Unpack[EntryFields],
) -> int:
    """``record()`` for hot paths: the same row by the same INSERT, without the instance.

    Returns the new entry's id; fails closed exactly like ``record()``. ``only_if`` (an SQL
    condition and its parameters, from the caller's code, never from input) makes the INSERT
    conditional: if it is false nothing is written and ``AuditGuardFailed`` is raised.
    ``along_with`` is a row of the caller's that commits with the entry or not at all (and,
    under ``only_if``, only if the condition holds); its ``IntegrityError`` (say, a key
    already there) propagates unchanged.
    """
    fields = _fields(actor=actor, action=action, **entry)
    return _write(timezone.now(), fields, only_if, along_with)


def checkpoint_create(*, signer: Signer, force: bool = False) -> AuditCheckpoint | None:
    """Sign the chain head as a periodic checkpoint; None when nothing new was chained and the
    newest checkpoint is younger than half of ``AUDIT_CHECKPOINT_MAX_AGE`` (the heartbeat).

    ``signer`` turns claims into a compact JWS (the platform key; wired in governance, since
    ``audit`` imports no other app).
    """
    seq, head_hash = chain.chain_head()
    if seq == 0:
        return None
    latest = AuditCheckpoint.objects.order_by("-seq", "-id").only("seq").first()
    if not force and latest is not None and latest.seq >= seq and not _heartbeat_due():
        return None
    return _checkpoint_sign(
        signer=signer, seq=seq, head_hash=head_hash, kind=AuditCheckpoint.Kind.PERIODIC
    )


def _heartbeat_due() -> bool:
    """An unchanged head is signed again after half the policy's maximum checkpoint age, so a
    fresh checkpoint always exists while signing works (and its absence means it does not)."""
    newest = (
        AuditCheckpoint.objects.order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    if newest is None:
        return True
    return (timezone.now() - newest).total_seconds() >= settings.AUDIT_CHECKPOINT_MAX_AGE / 2


def _checkpoint_sign(
    *, signer: Signer, seq: int, head_hash: str, kind: str, **extra: Any
) -> AuditCheckpoint:
    claims: dict[str, Any] = {
        "seq": seq,
        "hash": head_hash,
        "kind": kind,
        "canonical": CANONICAL_VERSION,
        "iat": int(time.time()),
    }
    claims.update({k: v for k, v in extra.items() if v not in (None, "")})
    token = signer(claims)
    with transaction.atomic():
        return AuditCheckpoint.objects.create(
            seq=seq,
            hash=head_hash,
            kind=kind,
            jws=token,
            key_id=str(jws_header(token).get("kid", "")),
            archived_from_seq=extra.get("archived_from"),
            archive_sha256=extra.get("archive_sha256", ""),
            archive_name=extra.get("archive_name", ""),
        )
