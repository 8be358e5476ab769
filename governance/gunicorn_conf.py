"""Gunicorn settings for this project.

    gunicorn -c python:governance.gunicorn_conf governance.wsgi

``bin/up``, the benchmarks and the production example in docs/operations.md all start gunicorn
with it; command-line flags still override it. The number of workers is left to the command
line (``--workers``, or gunicorn's ``WEB_CONCURRENCY``): docs/operations.md recommends 4 of
these 2-thread workers on a 2-core host.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Any

worker_class = "gthread"
threads = 2
keepalive = 30
# Access lines (when --access-logfile is given) name the path without its query string: a client
# that puts a secret in the URL must not have it written to the log. The request id is added by
# the log filter from the response's X-Request-ID header (governance/logs.py).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


def on_starting(server: Any) -> None:
    """The master logs through the project's LOGGING too (JSON in production); the workers
    get the same config when they load Django."""
    import logging.config
    import os

    from django.conf import settings

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    logging.config.dictConfig(settings.LOGGING)


def post_worker_init(worker: Any) -> None:
    """Load what requests would load lazily, then hide it all from the garbage collector."""
    load_lazy_code()
    # The objects loaded so far (Django, the apps, the URLconf) live as long as the worker, yet
    # every full collection walked all of them: under load that paused each worker every few
    # seconds and set the decision and token benchmarks' p99 (figures in docs/oauth.md).
    # Frozen, a full collection walks only what requests created. Nothing frozen is ever
    # freed, which is the point for these objects.
    gc.freeze()


def load_lazy_code() -> None:
    """Import what a worker's first requests would otherwise import: the URLconf with every
    view module, and the Redis client (imported by the cache backend and the counters on first
    use). Otherwise a fresh worker's first requests import them while holding the GIL, and
    the worker's other requests wait (figures in ``docs/oauth.md``).
    """
    import redis  # noqa: F401
    from django.urls import Resolver404, resolve

    with contextlib.suppress(Resolver404):
        resolve("/")  # imports the URLconf, and through its include()s every view module


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exited leaves its metric files; mark them so live gauges drop it."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
