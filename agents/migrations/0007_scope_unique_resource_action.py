"""One scope per (resource, action), once ``0006`` has filled them in (its own transaction)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("agents", "0006_scope_bind_resources")]

    operations = [
        migrations.AddConstraint(
            model_name="scope",
            constraint=models.UniqueConstraint(
                condition=models.Q(("resource__isnull", False)),
                fields=("resource", "action"),
                name="scope_unique_resource_action",
            ),
        ),
    ]
