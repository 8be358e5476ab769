"""What "changed nothing" means for the hardening tests: every row of every table of ours, by
content, not only by count (a refused request that flipped a status or renamed an agent would
leave the counts as they were).

The rows are read and digested by the database in one statement for all tables, not fetched
through the ORM: the snapshot is taken once per refused request in the isolation matrix and the
schema fuzzer, and fetching ~40 tables' rows into Python each time was the suite's largest cost.
Each row becomes text that no other content of the same columns gives (SQLite's ``quote()`` of
every column, PostgreSQL's text form of the row), so a change of any column of any row changes
the table's digest. ``tests/security/test_state.py`` holds that on each database.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from django.apps import apps
from django.db import connection

from audit.models import AuditEntry

# Our apps are the ones whose code lives in the project's packages (governance.* included),
# so a new app is covered the day it exists.
PACKAGES = ("agents", "credentials", "trust", "audit", "governance")


# Bookkeeping a request may rightly write whatever its answer: the caller's own API token notes
# when it was last used (at most once a minute), a refused request included.
BOOKKEEPING = {"agents.ApiToken": {"last_used_at"}}

# Of the audit log only the successful entries: a refusal is rightly recorded as a failure or a
# denial.
AUDIT_SUCCESSES = "audit:success"


@dataclass(frozen=True)
class Table:
    """One table the snapshot reads: the columns it digests, in order, and the rows it keeps."""

    key: str
    name: str
    order: tuple[str, ...]  # the primary key's columns
    columns: tuple[str, ...]
    where: tuple[str, str] | None = None  # (column, value): only the rows where it holds


def tables() -> list[Table]:
    """Every table of our apps: each concrete model's own, and each many-to-many table Django
    creates for them (a proxy has none of its own; its rows are its concrete model's)."""
    out = []
    for config in apps.get_app_configs():
        if config.name.split(".")[0] not in PACKAGES:
            continue
        for model in config.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy:
                continue
            skip = BOOKKEEPING.get(meta.label, set())
            columns = tuple(f.column for f in meta.local_concrete_fields if f.name not in skip)
            order = tuple(f.column for f in meta.pk_fields)
            if model is AuditEntry:
                outcome = AuditEntry._meta.get_field("outcome").column
                where = (outcome, AuditEntry.Outcome.SUCCESS.value)
                out.append(Table(AUDIT_SUCCESSES, meta.db_table, order, columns, where))
            else:
                out.append(Table(meta.label, meta.db_table, order, columns))
    return out


def _select(table: Table, position: int) -> tuple[str, list]:
    """One table's ``(position, row count, digest or every row's text)``, and its parameters."""
    q = connection.ops.quote_name
    order = ", ".join(q(c) for c in table.order)
    where, params = "", []
    if table.where:
        where, params = f" WHERE {q(table.where[0])} = %s", [table.where[1]]
    if connection.vendor == "postgresql":
        # The row's text form quotes what needs it and leaves NULL empty (an empty string is
        # ""), so rows and values cannot run into each other; md5 only keeps the answer short.
        row = f"ROW({', '.join(q(c) for c in table.columns)})::text"
        return (
            f"SELECT {position}, count(*), md5(coalesce(string_agg({row}, ',' "
            f"ORDER BY {order}), '')) FROM {q(table.name)}{where}",
            params,
        )
    if connection.vendor == "sqlite":
        # quote() writes each value as the literal that reads back as it: text quoted with its
        # quotes doubled, NULL bare, a number exactly (a real with every digit it needs), so a
        # row's values cannot run into each other or into the next row's. SQLite has no digest
        # of its own; Python hashes the one string per table.
        row = " || ',' || ".join(f"quote({q(c)})" for c in table.columns)
        return (
            f"SELECT {position}, count(*), group_concat(r, char(10)) FROM "
            f"(SELECT {row} AS r FROM {q(table.name)}{where} ORDER BY {order})",
            params,
        )
    raise NotImplementedError(f"no table snapshot for {connection.vendor}")


@functools.cache
def _statement(vendor: str) -> tuple[str, list, tuple[str, ...]]:
    """The one statement for every table, its parameters and the key of each row it answers
    (built once per process and database: the models do not change in one)."""
    selected = tables()
    sql, params = [], []
    for position, table in enumerate(selected):
        one, its_params = _select(table, position)
        sql.append(one)
        params += its_params
    return " UNION ALL ".join(sql), params, tuple(t.key for t in selected)


def table_state() -> dict[str, tuple[int, str]]:
    """Per table of our apps, its row count and a digest of every row's values; of the audit
    log only the successful entries."""
    sql, params, keys = _statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = {}
    for position, count, digest in rows:
        if connection.vendor == "sqlite":
            digest = hashlib.sha256((digest or "").encode()).hexdigest()
        out[keys[position]] = (count, digest[:16])
    return out


def changed(before: dict, after: dict) -> dict[str, tuple]:
    """The tables whose rows differ, with their (count, digest) before and after."""
    return {k: (before.get(k), after.get(k)) for k in after if before.get(k) != after[k]}
