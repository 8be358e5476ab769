"""Worker entry of the parallel verification pass; importable before Django is set up.

A spawned worker unpickles its function by module, so this module imports nothing of Django at
the top: it sets Django up, points the connection at the parent's database and only then loads
``audit.verification``.
"""

from __future__ import annotations

import os
from typing import Any


def verify_range(job: tuple) -> dict[str, Any]:
    settings_module, db_name, jwks, lo, hi, first, last, references, witness = job
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    django.setup()
    from django.db import connections

    connections["default"].settings_dict["NAME"] = db_name
    from .verification import verify_range_here

    try:
        return verify_range_here(
            jwks=jwks,
            lo=lo,
            hi=hi,
            first=first,
            last=last,
            references=references,
            witness=witness,
        )
    finally:
        connections.close_all()
