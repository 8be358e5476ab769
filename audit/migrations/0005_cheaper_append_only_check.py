"""PostgreSQL: the same append-only rule for entries, checked without two JSON conversions per row.

0004 compared ``to_jsonb(NEW)`` with ``to_jsonb(OLD)`` (minus the chain columns) for every row the
sequencer chains: about half of the sequencer's UPDATE time. This compares the rows themselves:
a copy of ``NEW`` with ``OLD``'s ``seq``/``prev_hash``/``hash`` must be the same row as ``OLD``.
Like the JSON form it covers every column, including any added later. The rule is unchanged:
only an unchained row may change, and only in its chain columns; DELETE as in 0004.
"""

from django.db import migrations

CREATE = r"""
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

# 0004's function, restored on the way back.
DROP = r"""
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
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_archive_aware_triggers")]

    operations = [migrations.RunPython(forwards, backwards)]
