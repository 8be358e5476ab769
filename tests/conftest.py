"""Shared fixtures for the whole suite. Factories live in tests/factories.py."""

from __future__ import annotations

import os
import time

import pytest
from celery import current_app
from django.test import override_settings

from tests.static_files import static_files_scanned_once


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Factories give users passwords; PBKDF2's full cost (~1 s here) buys nothing in tests."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True, scope="session")
def _static_files_scanned_once():
    """Every test client builds its own middleware chain, and WhiteNoise then stats every static
    file again (~180 of them): scanned once per settings instead (tests/static_files.py)."""
    with static_files_scanned_once():
        yield


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process caches (signing keys, token lifetime, remembered clients, the decision
    point's) outlive a test's database rows: start every test without them."""
    from credentials import process_caches

    process_caches.forget_all()
    yield


class ShiftedClock:
    """The system clock moved forward by ``advance()``: a cache entry lapses without a sleep."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock():
    """The clock of the per-process caches and of the live checks (``process_caches``)."""
    from credentials import process_caches

    shifted = ShiftedClock()
    process_caches.use_clock(shifted)
    yield shifted
    process_caches.use_clock(None)


@pytest.fixture
def redis_url() -> str:
    """A real Redis for the tests that need one; the suite fails, not skips, without it."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    client = redis.Redis.from_url(url)
    client.ping()
    return url


def pytest_configure(config):
    # The suite never runs collectstatic, so STATIC_ROOT is absent; whitenoise says so once per
    # middleware chain. Static files in tests come from the finders.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


def pytest_collection_modifyitems(config, items):
    from django.conf import settings
    from django.db import connection

    skip_pg = pytest.mark.skip(reason="needs PostgreSQL")
    if connection.vendor != "postgresql":
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip_pg)
    skip_off = pytest.mark.skip(reason="tests a per-process cache; PROCESS_CACHES is off")
    if not settings.PROCESS_CACHES:
        for item in items:
            if "process_caches" in item.keywords:
                item.add_marker(skip_off)


@pytest.fixture
def eager_celery():
    """Tasks run in this process when queued (the worker itself is tested in tests/platform)."""
    conf = current_app.conf
    before = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = before
