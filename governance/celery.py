"""The Celery application; periodic tasks live in the database (django-celery-beat)."""

import logging.config
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

app = Celery("governance")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["governance.auditlog"])  # audit.checkpoint (needs credentials)
app.autodiscover_tasks(["agents.notices"])  # notices.deliver, notices.sweep_outbox
app.autodiscover_tasks(["trust.usage"])  # trust.fold_usage (the usage facts' own package)

from governance.ops import metrics as _metrics  # noqa: E402, F401  (task outcome counters)


@signals.setup_logging.connect
def _use_django_logging(**_: object) -> None:
    """Workers and beat log through the project's LOGGING (JSON in production, the request id
    field, the quiet sequencer) instead of Celery's own handlers; LOG_LEVEL sets the level."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
