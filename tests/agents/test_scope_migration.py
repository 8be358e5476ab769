"""The migration that made scopes relations: existing rows are derived from their names."""

from __future__ import annotations

import pytest
from django.apps import apps as global_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from governance.decisions import triggers

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("agents", "0004_notices")]
AFTER = [("agents", "0007_scope_unique_resource_action")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _restore() -> None:
    """Every app back at its latest migration, with the epoch triggers the way back dropped.

    Going back to 0004 unapplies every migration that depends on a later one (of any app), and
    on SQLite rebuilding agents_scope drops its epoch trigger: left so, the rest of this
    worker's tests would run with the decision caches silently off.
    """
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    with connection.schema_editor() as editor:
        triggers.install(global_apps, editor)
    assert triggers.drift(connection) == []


def test_names_are_bound_to_their_resource_and_unknown_prefixes_stay_unbound():
    old = _migrate(BEFORE)
    Resource, Scope = old.get_model("agents", "Resource"), old.get_model("agents", "Scope")
    ledger = Resource.objects.create(slug="ledger", name="Ledger", audience="https://l.test")
    Scope.objects.create(name="ledger:read")
    Scope.objects.create(name="ledger:write")
    Scope.objects.create(name="tickets:read")  # named after no resource
    try:
        new = _migrate(AFTER)
        rows = {
            s.name: (s.resource_id, s.action)
            for s in new.get_model("agents", "Scope").objects.all()
        }
        assert rows == {
            "ledger:read": (ledger.pk, "read"),
            "ledger:write": (ledger.pk, "write"),
            "tickets:read": (None, "read"),
        }
    finally:
        _restore()
