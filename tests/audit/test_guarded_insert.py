"""The guarded audit INSERT (``record_row(only_if=…, along_with=…)``), on both databases.

``only_if`` is checked by the INSERT itself (``INSERT … SELECT … WHERE <condition>``): a false
condition writes nothing and says so (``AuditGuardFailed``), and a row ``along_with`` the entry
is written with it or not at all. Committed transactions (``transaction=True``), as the token
endpoint and the decision point write them: in autocommit.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from audit.services import AuditGuardFailed, record_row
from credentials.models import AssertionJti
from credentials.sql import assertion_jti_row

pytestmark = pytest.mark.django_db(transaction=True)


def _holds(value: bool) -> tuple[str, list]:
    """A condition on the database's state: is there (not) an entry of this action?"""
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    op = "=" if value else "<>"
    return f"(SELECT COUNT(*) FROM {table} WHERE action = %s) {op} %s", ["no.such.action", 0]


def _jti_row():
    return assertion_jti_row("client-a", uuid.uuid4().hex, timezone.now() + dt.timedelta(hours=1))


@pytest.mark.parametrize("holds", [True, False])
def test_the_guard_is_checked_by_the_insert_itself(holds):
    with CaptureQueriesContext(connection) as queries:
        if holds:
            entry_id = record_row(actor="agent:a", action="guarded.write", only_if=_holds(True))
        else:
            with pytest.raises(AuditGuardFailed):
                record_row(actor="agent:a", action="guarded.write", only_if=_holds(False))
    assert len(queries) == 1  # one statement: the condition and the write on one snapshot
    assert " WHERE " in queries.captured_queries[0]["sql"]
    rows = AuditEntry.objects.filter(action="guarded.write")
    if holds:
        assert list(rows.values_list("id", "actor")) == [(entry_id, "agent:a")]
    else:
        assert not rows.exists()


@pytest.mark.parametrize("holds", [True, False])
def test_a_row_along_with_the_entry_shares_its_fate(holds):
    row = _jti_row()
    guard = _holds(holds)
    if holds:
        record_row(actor="agent:a", action="guarded.along", only_if=guard, along_with=row)
    else:
        with pytest.raises(AuditGuardFailed):
            record_row(actor="agent:a", action="guarded.along", only_if=guard, along_with=row)
    written = AssertionJti.objects.filter(jti=row.values["jti"]).exists()
    assert written is holds
    assert AuditEntry.objects.filter(action="guarded.along").exists() is holds


@pytest.mark.parametrize("guarded", [True, False])
def test_a_conflicting_row_writes_no_entry_and_raises_integrity_error(guarded):
    row = _jti_row()
    record_row(actor="agent:a", action="guarded.first", along_with=row)
    with pytest.raises(IntegrityError):
        record_row(
            actor="agent:a",
            action="guarded.replay",
            along_with=row,
            only_if=_holds(True) if guarded else None,
        )
    assert not AuditEntry.objects.filter(action="guarded.replay").exists()
    assert AssertionJti.objects.filter(jti=row.values["jti"]).count() == 1


def test_an_unguarded_entry_with_its_row_is_one_statement_on_postgresql():
    with CaptureQueriesContext(connection) as queries:
        record_row(actor="agent:a", action="guarded.one", along_with=_jti_row())
    verbs = [q["sql"].split()[0] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert verbs == ["WITH"]
    else:
        assert [v for v in verbs if v not in ("BEGIN", "COMMIT")] == ["INSERT", "INSERT"]
