"""The revocation-epoch triggers: what they must watch, how to install them, what is installed.

Database triggers give ``decisions_epoch`` a new random value on every insert, update or delete
of a row the fast paths may cache (``cache.py``). They are only as good as their list of
columns: a trigger that watches ``UPDATE OF`` a fixed list, made when its migration ran, does
not see a column added later, and on SQLite a migration that rebuilds a table drops the table's
triggers (caching then turns itself off, silently). So the list lives here, once:

* ``WATCHED``: the models, and for each the fields whose change must NOT move the epoch
  (only ``Credential.last_used_at``, written at most once a minute per credential);
* ``expected()``: what the triggers must be for the current models (every event; for an
  ``UPDATE``, every column but the ignored ones, or any column when none is ignored);
* ``installed()``: what the database has, read from ``pg_trigger`` / ``sqlite_master``;
* ``drift()``: the differences, in words. The system check ``decisions.E001`` reports them
  (``manage.py check --database default``, and ``migrate``), so a model change that needs the
  triggers re-created fails ``bin/test`` until a migration calls ``install()``.

``tests/decisions/test_epoch_triggers.py`` changes each watched column of each model and
expects the epoch to move, and checks the drift detection itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.apps import apps as global_apps

PREFIX = "decisions_epoch_"
FUNCTION = "decisions_epoch_bump"
EVENTS = ("INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Watched:
    """A model whose rows the fast paths may cache, and the fields whose writes they may not."""

    label: str  # "app_label.ModelName"
    ignored: frozenset[str] = frozenset()


WATCHED = (
    Watched("agents.Agent"),
    Watched("agents.WorkflowRun"),
    Watched("agents.Scope"),
    Watched("agents.ScopeGrant"),
    Watched("agents.Connection"),
    Watched("agents.Resource"),
    Watched("agents.OrganisationPolicy"),
    Watched("credentials.Credential", ignored=frozenset({"last_used_at"})),
    Watched("credentials.RevokedToken"),
)


@dataclass(frozen=True)
class Trigger:
    """One table's epoch trigger(s): the events it fires on, and for UPDATE which columns
    (None: any column), and whether it is enabled."""

    events: frozenset[str]
    update_of: frozenset[str] | None
    enabled: bool = True


def trigger_count(vendor: str) -> int | None:
    """How many trigger rows a complete installation has (PostgreSQL: one per table, SQLite:
    one per table and event); None where there are no triggers (nothing is cached)."""
    if vendor == "postgresql":
        return len(WATCHED)
    if vendor == "sqlite":
        return len(WATCHED) * len(EVENTS)
    return None


def _model(watched: Watched, apps: Any) -> Any:
    return apps.get_model(watched.label)


def _update_of(watched: Watched, model: Any) -> frozenset[str] | None:
    if not watched.ignored:
        return None
    ignored = {model._meta.get_field(name).column for name in watched.ignored}
    return frozenset(f.column for f in model._meta.concrete_fields if f.column not in ignored)


def expected(apps: Any = global_apps) -> dict[str, Trigger]:
    """table -> the trigger the current models need."""
    out = {}
    for watched in WATCHED:
        model = _model(watched, apps)
        out[model._meta.db_table] = Trigger(frozenset(EVENTS), _update_of(watched, model))
    return out


_SQLITE_TRIGGER = re.compile(
    r"AFTER\s+(INSERT|UPDATE|DELETE)(?:\s+OF\s+(?P<cols>.+?))?\s+ON\s", re.IGNORECASE | re.DOTALL
)
_PG_EVENT_BITS = {"INSERT": 4, "DELETE": 8, "UPDATE": 16}  # pg_trigger.tgtype


def installed(connection: Any) -> dict[str, Trigger]:
    """table -> the epoch trigger the database has (tables without one are absent)."""
    found: dict[str, Trigger] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgtype, t.tgenabled <> 'D', "
                "ARRAY(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = t.tgrelid "
                "AND a.attnum = ANY(t.tgattr)) "
                "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE t.tgname LIKE %s AND p.proname = %s",
                [PREFIX.replace("_", "\\_") + "%", FUNCTION],
            )
            for table, tgtype, enabled, columns in cursor.fetchall():
                events = frozenset(e for e, bit in _PG_EVENT_BITS.items() if tgtype & bit)
                update_of = frozenset(columns) if columns else None
                found[table] = Trigger(events, update_of if "UPDATE" in events else None, enabled)
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [PREFIX + "%"],
            )
            for table, sql in cursor.fetchall():
                match = _SQLITE_TRIGGER.search(sql or "")
                body = sql.split("BEGIN", 1)[-1] if sql else ""
                if match is None or "decisions_epoch" not in body:
                    continue  # named like ours, but not an epoch trigger
                event = match.group(1).upper()
                before = found.get(table, Trigger(frozenset(), None))
                update_of = before.update_of
                if event == "UPDATE" and match.group("cols"):
                    update_of = frozenset(
                        c.strip().strip('"`[]') for c in match.group("cols").split(",")
                    )
                found[table] = Trigger(before.events | {event}, update_of)
    return found


def drift(connection: Any, apps: Any = global_apps) -> list[str]:
    """What differs between the installed triggers and what the current models need."""
    if trigger_count(connection.vendor) is None:
        return []
    have = installed(connection)
    problems = []
    for table, want in expected(apps).items():
        got = have.get(table)
        if got is None:
            problems.append(f"{table} has no epoch trigger")
            continue
        if not got.enabled:
            problems.append(f"{table}'s epoch trigger is disabled")
        missing = want.events - got.events
        if missing:
            problems.append(f"{table}'s epoch trigger misses {', '.join(sorted(missing))}")
        if want.update_of != got.update_of:
            problems.append(_columns_problem(table, want.update_of, got.update_of))
    return problems


def _columns_problem(table: str, want: frozenset | None, got: frozenset | None) -> str:
    if want is None:
        return f"{table}'s epoch trigger fires on UPDATE OF some columns only, not on any column"
    if got is None:
        return f"{table}'s epoch trigger fires on any UPDATE, also of columns it must ignore"
    unwatched, extra = sorted(want - got), sorted(got - want)
    parts = []
    if unwatched:
        parts.append(f"does not watch {', '.join(unwatched)}")
    if extra:
        parts.append(f"watches {', '.join(extra)}, which the model no longer has or ignores")
    return f"{table}'s epoch trigger {' and '.join(parts)}"


# Once per transaction: the triggers fire at commit (deferred), where one new value is all any
# other session can see, and each further UPDATE of the one epoch row in the same transaction
# adds a row version every later one must step over (a bulk write of n rows cost O(n²) at
# commit). The flag is a transaction-local setting, gone at commit or rollback.
PG_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION decisions_epoch_bump() RETURNS trigger AS $$
BEGIN
    IF current_setting('decisions.epoch_bumped', true) IS DISTINCT FROM 'on' THEN
        INSERT INTO decisions_epoch (id, value) VALUES (1, (random() * 9e18)::bigint)
        ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value;
        PERFORM set_config('decisions.epoch_bumped', 'on', true);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def install(apps: Any, schema_editor: Any, *, only: tuple[str, ...] = ()) -> None:
    """(Re)create the epoch triggers of the watched models (``only``: of these labels) as
    ``expected(apps)`` says; for a migration: ``RunPython(lambda a, s: install(a, s))``.

    PostgreSQL: one constraint trigger per table, deferred to commit, so the epoch row is the
    last lock a transaction takes and registry writes cannot deadlock on it. SQLite: one
    trigger per table and event, under its single writer.
    """
    conn = schema_editor.connection
    quote = conn.ops.quote_name
    want = expected(apps)
    labels = {_model(w, apps)._meta.db_table: w.label for w in WATCHED}
    if conn.vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION_SQL)
    for table, trigger in want.items():
        if only and labels[table] not in only:
            continue
        update = "UPDATE"
        if trigger.update_of is not None:
            update = f"UPDATE OF {', '.join(quote(c) for c in sorted(trigger.update_of))}"
        if conn.vendor == "postgresql":
            name = quote(PREFIX + table)
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {quote(table)}")
            schema_editor.execute(
                f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT OR {update} OR DELETE "
                f"ON {quote(table)} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"EXECUTE FUNCTION {FUNCTION}()"
            )
        elif conn.vendor == "sqlite":
            for event in EVENTS:
                name = quote(f"{PREFIX}{table}_{event.lower()}")
                clause = update if event == "UPDATE" else event
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
                schema_editor.execute(
                    f"CREATE TRIGGER {name} AFTER {clause} ON {quote(table)} FOR EACH ROW BEGIN "  # noqa: S608
                    "INSERT INTO decisions_epoch (id, value) VALUES (1, random()) "
                    "ON CONFLICT (id) DO UPDATE SET value = excluded.value; END"
                )
