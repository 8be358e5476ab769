"""PostgreSQL: compress the history's ``factors`` (a ~4 KB breakdown a row) with lz4, not pglz.

A recomputation that moves every agent writes a history row each; pglz was a third of the
server's work on that INSERT (20,000 rows: 2.9–3.1 s with pglz, 2.0–2.2 s with lz4, 22 % more
disk). Only new values are compressed the new way. A server built without lz4 keeps pglz.
"""

from django.db import migrations

LZ4 = """
DO $$
BEGIN
    ALTER TABLE trust_trustcomputation ALTER COLUMN factors SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available on this server: factors stay compressed with pglz';
END $$;
"""
PGLZ = "ALTER TABLE trust_trustcomputation ALTER COLUMN factors SET COMPRESSION pglz;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LZ4)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PGLZ)


class Migration(migrations.Migration):
    dependencies = [("trust", "0005_retention")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
