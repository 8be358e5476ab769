"""Scopes become relations: each names its resource and action (issue 11 item 2).

The columns only; ``0006`` fills them from the names, ``0007`` makes them unique. Three
migrations because PostgreSQL cannot build an index in the transaction that rewrote the rows
(pending foreign-key trigger events), and Django builds a new foreign key's index last.
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("agents", "0004_notices")]

    operations = [
        migrations.AddField(
            model_name="scope",
            name="resource",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="scopes",
                to="agents.resource",
            ),
        ),
        migrations.AddField(
            model_name="scope",
            name="action",
            field=models.CharField(
                default="",
                max_length=64,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[a-z0-9][a-z0-9_.-]*$",
                        "An action is lowercase letters, digits, '.', '_' and '-', such as 'read'.",
                    )
                ],
            ),
            preserve_default=False,
        ),
    ]
