"""Recording a credential's use (``last_used_at``, at most once a minute) no longer changes the
revocation epoch: only the columns anything may read for a decision do. Every other table keeps
its trigger on any change."""

from django.db import migrations

IGNORED = {"last_used_at"}


def _table_and_columns(apps) -> tuple[str, list[str]]:
    model = apps.get_model("credentials", "Credential")
    columns = [f.column for f in model._meta.concrete_fields if f.column not in IGNORED]
    return model._meta.db_table, columns


def _recreate(apps, schema_editor, *, ignore: bool) -> None:
    conn = schema_editor.connection
    quote = conn.ops.quote_name
    table, columns = _table_and_columns(apps)
    update = f"UPDATE OF {', '.join(quote(c) for c in columns)}" if ignore else "UPDATE"
    if conn.vendor == "postgresql":
        name = quote(f"decisions_epoch_{table}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {quote(table)}")
        schema_editor.execute(
            f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT OR {update} OR DELETE "
            f"ON {quote(table)} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            "EXECUTE FUNCTION decisions_epoch_bump()"
        )
    elif conn.vendor == "sqlite":
        name = quote(f"decisions_epoch_{table}_update")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute(
            f"CREATE TRIGGER {name} AFTER {update} ON {quote(table)} FOR EACH ROW BEGIN "
            "INSERT INTO decisions_epoch (id, value) VALUES (1, random()) "
            "ON CONFLICT (id) DO UPDATE SET value = excluded.value; END"
        )


def forwards(apps, schema_editor) -> None:
    _recreate(apps, schema_editor, ignore=True)


def backwards(apps, schema_editor) -> None:
    _recreate(apps, schema_editor, ignore=False)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0002_epoch")]

    operations = [migrations.RunPython(forwards, backwards)]
