"""django-celery-beat's schedule under audit: every change recorded, the audit log's own tasks
kept running (``policy``), the admin pages that go through both (``admin``)."""
