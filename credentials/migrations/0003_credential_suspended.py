"""Credential.Status gains ``suspended`` (an access review's reversible quarantine).

Choices live in Django's state only, so the database is left alone: on SQLite an AlterField
rebuilds the table, which would drop the revocation-epoch triggers on it
(``governance/decisions/triggers.py``).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0002_notices_move_to_agents"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="credential",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("active", "Active"),
                            ("rotating", "Rotating (predecessor in its overlap window)"),
                            ("revoked", "Revoked"),
                            ("expired", "Expired"),
                            ("suspended", "Suspended"),
                        ],
                        default="active",
                        max_length=10,
                    ),
                )
            ],
            database_operations=[],
        )
    ]
