"""Gunicorn settings for this project.

    gunicorn -c python:governance.gunicorn_conf governance.wsgi

``bin/up``, the benchmarks and the production example in docs/operations.md all start gunicorn
with it; command-line flags still override it. The shape (4 gthread workers × 2 threads,
long keep-alive) is the one docs/operations.md recommends for a 2-core host.
"""

from __future__ import annotations

import gc
from typing import Any

worker_class = "gthread"
threads = 2
keepalive = 30


def post_worker_init(worker: Any) -> None:
    """Hide the objects a worker has loaded so far (Django, the apps, the URL conf) from the
    cyclic garbage collector.

    They live as long as the worker, yet every full collection walked all of them (~130,000):
    under load that was a 38–150 ms pause per worker every few seconds, and it set the decision
    and token benchmarks' p99. Frozen, a full collection walks only what requests created and
    takes 7–10 ms. Nothing frozen is ever freed, which is the point for these objects.
    """
    gc.freeze()
