"""Put the revocation-epoch triggers back on every watched table.

On SQLite, adding a NOT NULL column (``OrganisationPolicy.quarantine_blocks_tokens``,
``config_review_requires_reviewer``) or a unique constraint (``Scope``'s resource and action)
rebuilds the table, and the rebuilt table has no triggers: an upgraded database would have
cached decisions and token checks outliving policy and scope changes (``decisions.E001``).
``install`` drops and recreates each one, so it is safe on databases that kept theirs.
"""

from django.db import migrations

from governance.decisions.triggers import install


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0003_epoch_ignores_credential_use"),
        ("agents", "0008_drift_and_quarantine_policy"),
        ("credentials", "0002_notices_move_to_agents"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
