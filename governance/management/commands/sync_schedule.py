"""Create the periodic tasks of governance.schedule that are missing; restore the audit ones."""

from django.core.management.base import BaseCommand

from governance.schedule import sync_schedule


class Command(BaseCommand):
    help = (
        "Create missing periodic tasks (django-celery-beat) and restore the audit log's own; "
        "leaves admin edits to the others alone."
    )

    def handle(self, *args, **options):
        changed = sync_schedule()
        self.stdout.write(f"created or restored {len(changed)} periodic task(s)")
        for name in changed:
            self.stdout.write(f"  {name}")
