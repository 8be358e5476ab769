"""Database helpers shared by tests: real failures injected by trigger, and subprocess settings."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from django.db import connection
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]

# Hypothesis for the oracle tests of hand-written SQL against the ORM: each example writes rows
# in the test's database, so no example database and no deadline.
ORACLE_EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextlib.contextmanager
def statements_refused(
    table: str, *, on: str = "INSERT", when: str = "", name: str = "test_refuse"
) -> Iterator[None]:
    """A real database failure: a temporary trigger rejects every ``on`` statement's row on
    ``table`` (only those matching the SQL condition ``when``, if given), on SQLite and
    PostgreSQL alike, until the block ends."""
    condition = f" WHEN ({when})" if when else ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused by a test trigger'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE {on} ON {table} FOR EACH ROW{condition} "
                f"EXECUTE FUNCTION {name}()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE {on} ON {table}{condition} "
                "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER {name} ON {table}")
                cursor.execute(f"DROP FUNCTION {name}()")
            else:
                cursor.execute(f"DROP TRIGGER {name}")


def postgres_env() -> dict[str, str]:
    """The environment of a child process (``manage.py …``) using this test's PostgreSQL
    database, with connections closed after each use."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = dict(os.environ)
    env.update({"DATABASE_URL": url, "PYTHONPATH": str(ROOT), "DB_CONN_MAX_AGE": "0"})
    return env
