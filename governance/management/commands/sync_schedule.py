"""Create the periodic tasks of governance.schedule that are missing from the beat table."""

from django.core.management.base import BaseCommand

from governance.schedule import sync_schedule


class Command(BaseCommand):
    help = "Create missing periodic tasks (django-celery-beat); leaves admin edits alone."

    def handle(self, *args, **options):
        created = sync_schedule()
        self.stdout.write(f"created {len(created)} periodic task(s)")
        for name in created:
            self.stdout.write(f"  {name}")
