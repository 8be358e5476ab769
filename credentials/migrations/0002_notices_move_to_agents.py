# Credential notices become notices of the one notification service (agents.Notice).

from django.db import migrations

KINDS = {"rotation_due": "credential.rotation_due", "expired": "credential.expired"}


def copy_to_notices(apps, schema_editor):
    """Keep every team's open to-dos; they were emailed (or not) before, so no outbox rows."""
    CredentialNotice = apps.get_model("credentials", "CredentialNotice")
    Notice = apps.get_model("agents", "Notice")
    rows = CredentialNotice.objects.exclude(team=None).iterator()
    Notice.objects.bulk_create(
        (
            Notice(
                kind=KINDS[n.kind],
                subject=n.message[:200],
                body=n.message,
                team_id=n.team_id,
                dedupe_key=n.credential_id,
                created_at=n.created_at,
            )
            for n in rows
        ),
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0001_initial"),
        ("agents", "0004_notices"),
    ]

    operations = [
        migrations.RunPython(copy_to_notices, migrations.RunPython.noop),
        migrations.DeleteModel(name="CredentialNotice"),
    ]
