"""Put the revocation-epoch triggers back after ``agents 0011`` (``Connection.status``): on
SQLite adding a NOT NULL column rebuilds ``agents_connection`` without its triggers, as
``0004`` explains. ``install`` is idempotent."""

from django.db import migrations

from governance.decisions.triggers import install


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0005_reinstall_epoch_triggers_after_grants_policy"),
        ("agents", "0011_connection_consent"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
