"""PostgreSQL: the epoch trigger function moves the epoch once per transaction, not once per row.

The triggers are deferred to commit, so a transaction's many bumps were only ever seen as one
new value; each of them still updated the one epoch row, and a bulk write of n watched rows cost
O(n²) at commit (each update steps over the row versions the earlier ones left). See
``triggers.PG_FUNCTION_SQL``. The triggers themselves are unchanged.
"""

from importlib import import_module

from django.db import migrations

from governance.decisions.triggers import PG_FUNCTION_SQL

# Backwards: the per-row body, as 0002 installed it.
PER_ROW = import_module("governance.decisions.migrations.0002_epoch").PG_FUNCTION


def _function(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("decisions", "0006_reinstall_epoch_triggers_after_connection_consent")]

    operations = [migrations.RunPython(_function(PG_FUNCTION_SQL), _function(PER_ROW))]
