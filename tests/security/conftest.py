"""Fixtures of the hardening tests (issue 13): a clean cache (throttle counters live there)."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()
