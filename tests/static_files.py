"""WhiteNoise's table of static files, built once per test process instead of once per client.

In the embedded mode (the suite's) WhiteNoise serves from the staticfiles finders, and its
middleware lists and stats every file found when it is constructed. Django's test ``Client``
constructs the whole middleware chain for each client, so a test that asks as six roles paid
for six scans (~20 ms each, 0.1 s on a loaded machine: a third of the isolation matrix's time).
The table depends only on the settings read below and on the files, which do not change
during a run; the first middleware of each combination builds it as WhiteNoise does, and later
ones take the same entries. What a request gets is unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware

# What the table is made from: where the finders look, and how WhiteNoise builds each entry.
SETTINGS = (
    "DEBUG",
    "STATIC_URL",
    "FORCE_SCRIPT_NAME",
    "INSTALLED_APPS",
    "STATICFILES_DIRS",
    "STATICFILES_FINDERS",
    "STORAGES",
)


def _key() -> str:
    names = [*SETTINGS, *sorted(n for n in dir(settings) if n.startswith("WHITENOISE_"))]
    return repr([(name, getattr(settings, name, None)) for name in names])


@contextlib.contextmanager
def static_files_scanned_once() -> Iterator[None]:
    """While open, ``WhiteNoiseMiddleware.add_files_from_finders`` scans once per settings."""
    scan = WhiteNoiseMiddleware.add_files_from_finders
    tables: dict[str, dict] = {}

    def add_files_from_finders(self: WhiteNoiseMiddleware) -> None:
        key = _key()
        if key not in tables:
            before = set(self.files)
            scan(self)
            tables[key] = {url: f for url, f in self.files.items() if url not in before}
        self.files.update(tables[key])

    WhiteNoiseMiddleware.add_files_from_finders = add_files_from_finders
    try:
        yield
    finally:
        WhiteNoiseMiddleware.add_files_from_finders = scan
