"""Shared fixtures for the whole suite. Factories live in tests/factories.py."""

from __future__ import annotations

import os

import pytest
from django.test import override_settings


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Factories give users passwords; PBKDF2's full cost (~1 s here) buys nothing in tests."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _fresh_process_memos():
    """Per-process memos (the current signing key, the token lifetime, remembered clients)
    outlive a test's database rows: start every test without them."""
    from credentials import signing
    from credentials.client_auth import forget_clients
    from credentials.services.tokens import forget_policy

    for forget in (signing.forget, forget_policy, forget_clients):
        forget()
    yield


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
    from django.db import connection

    skip_pg = pytest.mark.skip(reason="needs PostgreSQL")
    if connection.vendor != "postgresql":
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip_pg)
