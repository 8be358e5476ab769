"""The throwaway database of the benchmarks that drive Django in-process through its test client.

SQLite in a temp dir unless DATABASE_URL is set (point it at a scratch PostgreSQL database: it is
flushed), migrated and emptied, with cheap password hashing and the test client's host allowed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scratch_django(prefix: str) -> None:
    """Point Django at a new, empty, migrated database and set it up."""
    sys.path.insert(0, str(ROOT))
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("GOVERNANCE_VAR_DIR", tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
