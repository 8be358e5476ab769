"""The revocation epoch and the triggers that change it on every write to what may be cached."""

from django.db import migrations, models

# (app label, model) of every table whose rows the decision point may cache.
WATCHED = [
    ("agents", "Agent"),
    ("agents", "WorkflowRun"),
    ("agents", "Scope"),
    ("agents", "ScopeGrant"),
    ("agents", "Connection"),
    ("agents", "Resource"),
    ("agents", "OrganisationPolicy"),
    ("credentials", "Credential"),
    ("credentials", "RevokedToken"),
]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION decisions_epoch_bump() RETURNS trigger AS $$
BEGIN
    INSERT INTO decisions_epoch (id, value) VALUES (1, (random() * 9e18)::bigint)
    ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def _tables(apps) -> list[str]:
    return [apps.get_model(label, name)._meta.db_table for label, name in WATCHED]


def create_triggers(apps, schema_editor) -> None:
    conn = schema_editor.connection
    quote = conn.ops.quote_name
    if conn.vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
        for table in _tables(apps):
            # A constraint trigger deferred to commit: the epoch row is the last lock a
            # transaction takes, so registry writes cannot deadlock on it.
            schema_editor.execute(
                f"CREATE CONSTRAINT TRIGGER {quote('decisions_epoch_' + table)} "
                f"AFTER INSERT OR UPDATE OR DELETE ON {quote(table)} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "EXECUTE FUNCTION decisions_epoch_bump()"
            )
    elif conn.vendor == "sqlite":
        for table in _tables(apps):
            for event in ("INSERT", "UPDATE", "DELETE"):
                name = quote(f"decisions_epoch_{table}_{event.lower()}")
                schema_editor.execute(
                    f"CREATE TRIGGER {name} AFTER {event} ON {quote(table)} FOR EACH ROW BEGIN "
                    "INSERT INTO decisions_epoch (id, value) VALUES (1, random()) "
                    "ON CONFLICT (id) DO UPDATE SET value = excluded.value; END"
                )
    # Other databases: no triggers, so the decision point never caches (cache.py checks).


def drop_triggers(apps, schema_editor) -> None:
    conn = schema_editor.connection
    quote = conn.ops.quote_name
    for table in _tables(apps):
        if conn.vendor == "postgresql":
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS {quote('decisions_epoch_' + table)} ON {quote(table)}"
            )
        elif conn.vendor == "sqlite":
            for event in ("insert", "update", "delete"):
                schema_editor.execute(
                    f"DROP TRIGGER IF EXISTS {quote(f'decisions_epoch_{table}_{event}')}"
                )
    if conn.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS decisions_epoch_bump()")


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0001_initial"),
        ("agents", "0002_team_groups_object_permissions_api_tokens"),
        ("credentials", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Epoch",
            fields=[
                ("id", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                ("value", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
