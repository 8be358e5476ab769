"""The gunicorn settings every start uses (bin/up, the benchmarks, the operations guide)."""

from __future__ import annotations

import gc

from governance import gunicorn_conf


def test_a_worker_freezes_what_it_loaded_before_serving():
    gc.unfreeze()
    try:
        gunicorn_conf.post_worker_init(worker=None)
        # Everything alive now (Django, the apps, this test's modules) is out of the collector's
        # sight; a full collection no longer walks it.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
