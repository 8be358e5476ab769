"""PostgreSQL privileges of the application role, which must not own the audit tables.

The documented production setup (docs/operations.md) has two roles: an *owner* that runs
``migrate`` (and ``manage.py audit archive``) and owns every table, and the *application* role
that web processes, workers and beat connect as. A table's owner can switch its triggers off;
the application role cannot, and on the audit tables it holds only what the audit path needs:

- ``audit_auditentry``: SELECT, INSERT, and UPDATE of the three chain columns (the sequencer);
  the triggers still allow that UPDATE once per row, on an unchained row, and nothing else;
- ``audit_auditcheckpoint``: SELECT, INSERT;
- no DELETE, no TRUNCATE, no TRIGGER, no REFERENCES on either.

Every other table gets SELECT, INSERT, UPDATE, DELETE. Apply after each ``migrate``, as the
owner: ``manage.py audit grants --app-role governance_app --apply``.
"""

from __future__ import annotations

from .models import AuditCheckpoint, AuditEntry

CHAIN_COLUMNS = ("seq", "prev_hash", "hash")


def quote_identifier(name: str) -> str:
    """A PostgreSQL identifier in double quotes (a role name is not ours to trust)."""
    return '"' + name.replace('"', '""') + '"'


def app_role_sql(role: str, *, schema: str = "public") -> list[str]:
    """The statements that give ``role`` the application's privileges, audit tables restricted."""
    who = quote_identifier(role)
    where = quote_identifier(schema)
    entries = quote_identifier(AuditEntry._meta.db_table)
    checkpoints = quote_identifier(AuditCheckpoint._meta.db_table)
    both = f"{entries}, {checkpoints}"
    chain_columns = ", ".join(quote_identifier(c) for c in CHAIN_COLUMNS)
    return [
        f"GRANT USAGE ON SCHEMA {where} TO {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {where} TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {who}",
        # The audit tables: append, read, and the sequencer's one UPDATE of the chain columns.
        f"REVOKE ALL ON TABLE {both} FROM {who}",
        f"GRANT SELECT, INSERT ON TABLE {both} TO {who}",
        f"GRANT UPDATE ({chain_columns}) ON TABLE {entries} TO {who}",
    ]
