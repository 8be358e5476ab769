"""Logging: JSON lines in production, readable text on the embedded default, the same fields.

Every line carries ``request_id``: the id that the audit entries of the same request carry
(``audit.context``, bound by ``audit.middleware``), so a log line and the audit trail of one
request are joined by one value. Gunicorn's access lines take it from the response's
``X-Request-ID`` header, which the middleware sets. Lines of Celery and gunicorn go through the
same handlers (``governance.celery`` hands Celery's logging to this config; ``gunicorn_conf``
does the same for gunicorn).

Quiet when idle: beat sends the audit sequencer every second and the worker would log that it
received it and that it succeeded, two INFO lines a second whether or not it chained anything.
Those lines are dropped for the tasks in ``QUIET_TASKS``; the task logs a line itself when it did
work, and its failures are logged as ever (at ERROR).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from audit import context

# Tasks that beat sends every few seconds and that log a line themselves when they did work;
# their routine lines say nothing.
QUIET_TASKS = frozenset({"audit.sequence", "trust.fold_usage"})

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id``: the audit context's, or a gunicorn access line's response header."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            request_id = context.current().request_id
            if not request_id and hasattr(record, "request"):  # django.request, after the view
                request_id = getattr(record.request, "request_id", "")
            if not request_id and record.name == "gunicorn.access":
                args = record.args
                if isinstance(args, dict) or hasattr(args, "get"):
                    request_id = args.get("{x-request-id}o") or ""
                    request_id = "" if request_id == "-" else request_id
            record.request_id = request_id or "-"
        return True


class QuietTasksFilter(logging.Filter):
    """Drops Celery's routine INFO lines (beat sent, worker received, succeeded) for the
    tasks in ``QUIET_TASKS``; warnings and errors about them pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        return _task_of(record) not in QUIET_TASKS


def _task_of(record: logging.LogRecord) -> str | None:
    args: Any = record.args
    if record.name in ("celery.app.trace", "celery.worker.strategy"):
        return args.get("name") if isinstance(args, dict) else None
    if record.name == "celery.beat" and isinstance(args, tuple) and len(args) == 2:
        return args[1]  # 'Scheduler: Sending due task %s (%s)', entry.name, entry.task
    return None


def config(*, fmt: str, level: str) -> dict[str, Any]:
    """The ``LOGGING`` dict: one console handler, ``fmt`` ``json`` or ``text``."""
    if fmt not in ("json", "text"):
        raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {fmt!r}")
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        }
        if fmt == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "governance.logs.RequestIdFilter"},
            "quiet_tasks": {"()": "governance.logs.QuietTasksFilter"},
        },
        "formatters": {"main": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["request_id", "quiet_tasks"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # django-axes narrates every sign-in at INFO; failures and lock-outs are audited,
            # and its lock-out warnings still come through.
            "axes": {"level": "WARNING"},
            # gunicorn's loggers keep their own handlers unless told otherwise: route them here.
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
