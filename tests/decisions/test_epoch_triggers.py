"""The revocation-epoch triggers, against the current models, on both databases.

Every watched column of every watched model moves the epoch when a statement writes it; the
ignored one does not; inserts and deletes move it. The system check (``decisions.E001``)
passes on a migrated database and names the drift when a trigger is missing, disabled, or
watches other columns than the model needs (which is what a column added to a model without a
migration re-creating the trigger looks like).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection, transaction
from django.utils import timezone

from agents.models import Agent, OrganisationPolicy
from credentials.models import Credential, RevokedToken
from governance.decisions import checks, triggers
from governance.decisions.models import Epoch
from tests import factories as f


def _epoch() -> int | None:
    row = Epoch.objects.filter(pk=1).values_list("value", flat=True).first()
    return row


def _rows(*, check_inserts: bool = False) -> dict:
    """One fresh row of each watched model (label -> instance), each insert moving the epoch."""
    rows: dict = {}
    makers = [
        ("agents.Agent", f.AgentFactory),
        ("agents.Resource", f.ResourceFactory),
        ("agents.WorkflowRun", f.WorkflowRunFactory),
        ("agents.Scope", f.ScopeFactory),
        ("agents.ScopeGrant", lambda: f.ScopeGrantFactory(agent=rows["agents.Agent"])),
        (
            "agents.Connection",
            lambda: f.ConnectionFactory(
                agent=rows["agents.Agent"], resource=rows["agents.Resource"]
            ),
        ),
        ("agents.OrganisationPolicy", OrganisationPolicy.current),
        (
            "credentials.Credential",
            lambda: Credential.objects.create(
                id=uuid.uuid4().hex[:16],
                agent=rows["agents.Agent"],
                kind=Credential.Kind.CLIENT_SECRET,
            ),
        ),
        (
            "credentials.RevokedToken",
            lambda: RevokedToken.objects.create(
                jti=uuid.uuid4().hex,
                expires_at=timezone.now() + dt.timedelta(hours=1),
                revoked_by="system",
            ),
        ),
    ]
    OrganisationPolicy.objects.all().delete()  # its one row: current() inserts it afresh
    for label, make in makers:
        before = _epoch()
        rows[label] = make()
        if check_inserts:
            assert _epoch() != before, f"inserting {label}"
    return rows


@pytest.mark.django_db(transaction=True)  # PostgreSQL's triggers run at commit
def test_every_write_of_a_watched_column_moves_the_epoch_and_the_ignored_one_does_not():
    quote = connection.ops.quote_name
    rows = _rows()
    assert {w.label for w in triggers.WATCHED} == set(rows)
    for watched in triggers.WATCHED:
        instance = rows[watched.label]
        model = type(instance)
        table = quote(model._meta.db_table)
        pk = quote(model._meta.pk.column)
        for field in model._meta.concrete_fields:
            before = _epoch()
            with connection.cursor() as cursor:
                # A trigger sees which columns a statement writes, not their values: writing
                # a column with its own value is what any UPDATE naming it does.
                cursor.execute(
                    f"UPDATE {table} SET {quote(field.column)} = {quote(field.column)} "
                    f"WHERE {pk} = %s",
                    [instance.pk],
                )
            moved = _epoch() != before
            assert moved is (field.name not in watched.ignored), (watched.label, field.name)
    # Inserts and deletes move it too (dependents deleted first, so each delete is its own).
    for label, instance in reversed(_rows(check_inserts=True).items()):
        before = _epoch()
        deleted = type(instance).objects.filter(pk=instance.pk).delete()[1]
        assert deleted.get(label) == 1 and _epoch() != before, f"deleting {label}"


@pytest.mark.django_db(transaction=True)
def test_a_transaction_moves_the_epoch_once_however_many_rows_it_writes():
    """PostgreSQL: the first trigger of a transaction bumps, the others see it done (each bump
    updated the one epoch row again, O(n²) for a bulk write); other sessions see one new value
    at commit either way. SQLite has no deferred triggers and bumps per row, cheaply."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's once-per-transaction bump")
    team = f.TeamFactory()
    ids = [f.AgentFactory(owner_team=team).pk for _ in range(3)]
    before = _epoch()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire at each statement, to look
        Agent.objects.filter(pk=ids[0]).update(purpose="first")
        first = _epoch()
        Agent.objects.filter(pk__in=ids).update(purpose="second")
        assert _epoch() == first != before
    assert _epoch() == first
    Agent.objects.filter(pk=ids[0]).update(purpose="the next transaction")
    assert _epoch() != first


@pytest.mark.django_db(transaction=True)
def test_the_triggers_of_a_migrated_database_match_the_models():
    assert triggers.drift(connection) == []
    assert checks.epoch_triggers_match_the_models(databases=["default"]) == []
    call_command("check", databases=["default"], fail_level="WARNING")  # what bin/test runs


def _recreate_credential_trigger(update_of: list[str]) -> None:
    quote = connection.ops.quote_name
    table = Credential._meta.db_table
    cols = ", ".join(quote(c) for c in update_of)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            name = quote(triggers.PREFIX + table)
            cursor.execute(f"DROP TRIGGER {name} ON {quote(table)}")
            cursor.execute(
                f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT OR UPDATE OF {cols} OR DELETE "
                f"ON {quote(table)} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"EXECUTE FUNCTION {triggers.FUNCTION}()"
            )
        else:
            name = quote(f"{triggers.PREFIX}{table}_update")
            cursor.execute(f"DROP TRIGGER {name}")
            cursor.execute(
                f"CREATE TRIGGER {name} AFTER UPDATE OF {cols} ON {quote(table)} FOR EACH ROW "
                "BEGIN INSERT INTO decisions_epoch (id, value) VALUES (1, random()) "
                "ON CONFLICT (id) DO UPDATE SET value = excluded.value; END"
            )


def _problems() -> list[str]:
    errors = checks.epoch_triggers_match_the_models(databases=["default"])
    assert all(e.id == "decisions.E001" for e in errors)
    return [e.msg for e in errors]


@pytest.mark.django_db  # the DDL below is rolled back with the test's transaction
def test_a_column_the_trigger_does_not_watch_fails_the_check():
    columns = sorted(triggers.expected()[Credential._meta.db_table].update_of)
    _recreate_credential_trigger([c for c in columns if c != "status"])
    (problem,) = _problems()
    assert "credentials_credential's epoch trigger does not watch status" in problem
    with pytest.raises(SystemCheckError):
        call_command("check", databases=["default"])


@pytest.mark.django_db
def test_a_watched_column_the_model_ignores_fails_the_check():
    columns = sorted(triggers.expected()[Credential._meta.db_table].update_of)
    _recreate_credential_trigger([*columns, "last_used_at"])
    (problem,) = _problems()
    assert "watches last_used_at" in problem


@pytest.mark.django_db
def test_a_missing_or_disabled_trigger_fails_the_check():
    from agents.models import Agent

    table = Agent._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            name = quote(triggers.PREFIX + table)
            cursor.execute(f"ALTER TABLE {quote(table)} DISABLE TRIGGER {name}")
            assert _problems() == [
                f"Revocation-epoch trigger drift (default): {table}'s epoch trigger is disabled."
            ]
            cursor.execute(f"DROP TRIGGER {name} ON {quote(table)}")
            assert _problems() == [
                f"Revocation-epoch trigger drift (default): {table} has no epoch trigger."
            ]
        else:
            cursor.execute(f"DROP TRIGGER {quote(triggers.PREFIX + table + '_delete')}")
            assert _problems() == [
                f"Revocation-epoch trigger drift (default): {table}'s epoch trigger misses DELETE."
            ]


@pytest.mark.django_db
def test_install_puts_back_what_the_models_need():
    columns = sorted(triggers.expected()[Credential._meta.db_table].update_of)
    _recreate_credential_trigger(columns[:2])
    assert _problems()

    class _Editor:  # what a migration's RunPython hands over: the connection and execute()
        connection = connection

        @staticmethod
        def execute(sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

    from django.apps import apps

    triggers.install(apps, _Editor(), only=("credentials.Credential",))
    assert _problems() == []


@pytest.mark.django_db(transaction=True)
def test_upgrading_through_table_rebuilds_keeps_every_trigger():
    """SQLite rebuilds a table to add a NOT NULL column (agents 0008) or a unique constraint
    (agents 0007), dropping its triggers; decisions 0004 puts them back on the way up."""
    from django.db.migrations.executor import MigrationExecutor

    def migrate(targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)

    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        migrate([("agents", "0006_scope_bind_resources")])
        migrate(latest)
        assert triggers.drift(connection) == []
    finally:
        migrate(latest)
