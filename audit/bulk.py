"""Many rows into one table in one statement, and the server-binding cursor that allows it.

PostgreSQL: ``INSERT … SELECT * FROM unnest(%b::type[], …)``, one binary array per column,
bound on the server. The alternatives each cost more than the database's work: Django's
``bulk_create`` also sends arrays (UNNEST), but its client-side binding escapes them element by
element in Python (2 ms an audit entry whose context holds a trust breakdown); a multi-row
VALUES list has a placeholder per value for psycopg to convert; ``executemany`` is a statement
per row on the server (twice this one's CPU for audit entries), and ``json_to_recordset`` parses
a JSON column twice. Elsewhere (SQLite): ``executemany`` of the one-row INSERT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

try:  # psycopg 3: its server-side-binding cursor (psycopg2: Django's cursor as it is)
    from psycopg import Cursor as _ServerBindingCursor
except ImportError:  # pragma: no cover
    _ServerBindingCursor = None


def server_binding_cursor(db: Any) -> Any:
    """Django's cursor (so the INSERT is counted, logged and its errors translated like any
    other) over a psycopg 3 cursor that binds parameters on the server.

    The values then travel apart from the statement instead of being escaped into it by Python,
    which is most of the CPU an INSERT costs the client. Django opens its psycopg connections
    with client-side binding (``ClientCursor``); psycopg's documented
    ``Connection.cursor_factory`` picks the class ``cursor()`` makes, so it is set to
    ``psycopg.Cursor`` for this one cursor and put back. No prepared statements (they gain
    nothing here and break behind a transaction-pooling proxy): Django opens connections with
    ``prepare_threshold=None`` unless ``OPTIONS`` says otherwise.
    """
    if _ServerBindingCursor is None or db.vendor != "postgresql":
        return db.cursor()
    db.ensure_connection()
    raw = db.connection
    default = getattr(raw, "cursor_factory", None)
    if default is None:  # not a psycopg 3 connection
        return db.cursor()
    raw.cursor_factory = _ServerBindingCursor
    try:
        return db.cursor()
    finally:
        raw.cursor_factory = default


def insert_rows(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert ``rows`` (values in ``columns`` order, as the database takes them: JSON as text,
    datetimes adapted by ``ops.adapt_datetimefield_value``) into ``model``'s table.

    ``columns`` are field names or attnames; table, column names and types come from the model.
    """
    if not rows:
        return
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    fields = [model._meta.get_field(name) for name in columns]
    names = ", ".join(quote(field.column) for field in fields)
    table = quote(model._meta.db_table)
    with server_binding_cursor(db) as cursor:
        if db.vendor == "postgresql" and _ServerBindingCursor is not None:
            # The type without its modifier, as bulk_create does: varchar[] rather than
            # varchar(64)[], whose cast would cut a long value where the INSERT refuses it.
            arrays = ", ".join(f"%b::{field.db_type(db).split('(')[0]}[]" for field in fields)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})",  # noqa: S608
                [list(column) for column in zip(*rows, strict=True)],
            )
        else:
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
