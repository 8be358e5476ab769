"""PostgreSQL: no TRUNCATE of the audit tables, no INSERT of a row already chained.

Row triggers (0002–0005) never see TRUNCATE, so a role that may truncate (the tables' owner)
could empty the log and insert a re-hashed chain. Now:

- ``TRUNCATE`` of either table is refused (a statement trigger). Superusers are let through:
  Django's test database flush truncates every table, and a superuser can switch any trigger
  off anyway; the production roles (docs/operations.md) are not superusers.
- An ``INSERT`` that arrives with ``seq``, ``prev_hash`` or ``hash`` already set is refused:
  only the sequencer's UPDATE assigns them. The check is the trigger's ``WHEN`` clause, so a
  normal insert (``record()``: NULL and two empty strings) never calls the function at all.
- The sequencer's UPDATE must assign all three at once (a ``seq`` and two 64-character
  hashes), so the chain columns are written exactly once; the rest of the rule is 0005's.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: TRUNCATE is refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_entry_no_truncate
    BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();
CREATE TRIGGER audit_checkpoint_no_truncate
    BEFORE TRUNCATE ON audit_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();

CREATE OR REPLACE FUNCTION audit_entry_refuse_chained_insert() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only: seq, prev_hash and hash are assigned by '
        'the sequencer, never inserted' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_entry_unchained_insert
    BEFORE INSERT ON audit_auditentry
    FOR EACH ROW WHEN (NEW.seq IS NOT NULL OR NEW.prev_hash <> '' OR NEW.hash <> '')
    EXECUTE FUNCTION audit_entry_refuse_chained_insert();

CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
DECLARE
    probe audit_auditentry;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.seq IS NOT NULL AND EXISTS (
            SELECT 1 FROM audit_auditcheckpoint c WHERE c.kind = 'archive' AND c.seq >= OLD.seq
        ) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.seq IS NOT NULL OR NEW.seq IS NULL
       OR length(NEW.prev_hash) <> 64 OR length(NEW.hash) <> 64 THEN
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    probe := NEW;
    probe.seq := OLD.seq;
    probe.prev_hash := OLD.prev_hash;
    probe.hash := OLD.hash;
    IF probe IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

# Back to 0005.
DROP = r"""
DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry;
DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_auditcheckpoint;
DROP FUNCTION IF EXISTS audit_refuse_truncate();
DROP TRIGGER IF EXISTS audit_entry_unchained_insert ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_refuse_chained_insert();

CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
DECLARE
    probe audit_auditentry;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.seq IS NOT NULL AND EXISTS (
            SELECT 1 FROM audit_auditcheckpoint c WHERE c.kind = 'archive' AND c.seq >= OLD.seq
        ) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.seq IS NOT NULL THEN
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    probe := NEW;
    probe.seq := OLD.seq;
    probe.prev_hash := OLD.prev_hash;
    probe.hash := OLD.hash;
    IF probe IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_fewer_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
