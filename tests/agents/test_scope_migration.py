"""The migration that made scopes relations: existing rows are derived from their names."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("agents", "0004_notices")]
AFTER = [("agents", "0007_scope_unique_resource_action")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


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
        _migrate(AFTER)
