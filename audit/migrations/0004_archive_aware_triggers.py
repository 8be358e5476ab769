"""PostgreSQL: entries may be removed only once a checkpoint says they were archived.

The one way to remove audit entries is ``audit.retention.archive_range``: it exports the range,
writes a signed ``archive`` checkpoint and only then deletes. The trigger allows a DELETE of a
chained entry only when an archive checkpoint with ``seq`` at or past it already exists (in the
same transaction or before). Anyone able to write SQL could insert a fake archive checkpoint,
but not sign one: both verifiers accept a gap only behind a checkpoint whose JWS verifies.
Checkpoints themselves are append-only.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.seq IS NOT NULL AND EXISTS (
            SELECT 1 FROM audit_auditcheckpoint c WHERE c.kind = 'archive' AND c.seq >= OLD.seq
        ) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.seq IS NOT NULL
       OR (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash')
          IS DISTINCT FROM (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash') THEN
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION audit_checkpoint_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit checkpoints are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_append_only();
"""

DROP = r"""
DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_auditcheckpoint;
DROP FUNCTION IF EXISTS audit_checkpoint_append_only();
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.seq IS NOT NULL
       OR (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash')
          IS DISTINCT FROM (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash') THEN
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_checkpoints")]

    operations = [migrations.RunPython(forwards, backwards)]
