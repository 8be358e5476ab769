"""The Celery application; periodic tasks live in the database (django-celery-beat)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

app = Celery("governance")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["governance.auditlog"])  # audit.checkpoint (needs credentials)
app.autodiscover_tasks(["trust.usage"])  # trust.fold_usage (the usage facts' own package)
