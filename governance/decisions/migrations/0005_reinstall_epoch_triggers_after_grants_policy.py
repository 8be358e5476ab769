"""Put the revocation-epoch triggers back after ``agents 0009`` (governed grants' policy
columns): on SQLite adding a NOT NULL column rebuilds ``organisationpolicy`` without its
triggers, as ``0004`` explains. ``install`` is idempotent."""

from django.db import migrations

from governance.decisions.triggers import install


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0004_reinstall_epoch_triggers"),
        ("agents", "0009_policy_governed_grants"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
