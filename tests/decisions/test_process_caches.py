"""The registry of per-process caches: every cache is in it, ``forget_all()`` empties every one,
``PROCESS_CACHES=off`` turns every one off, and the injected clock ends entries without sleeps.

Committed transactions (``transaction=True``), as in production: the caches are used only
outside a transaction.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from credentials import process_caches, signing, token_check
from credentials.services import access_tokens
from governance.decisions import cache
from governance.decisions.services import decision_make

from .conftest import make_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.process_caches]

# Every per-process cache of the fast paths, by module (issue 15 counted six modules).
EXPECTED = {
    "credentials.key_clients",  # credentials/client_auth/remembered
    "credentials.secret_clients",  # credentials/client_auth/remembered
    "credentials.signing_keys",  # credentials/signing
    "credentials.token_lifetime",  # credentials/services (token issuance)
    "credentials.verified_signatures",  # credentials/token_check
    "decisions.contexts",  # governance/decisions/cache
    "decisions.epoch_hint",  # governance/decisions/cache
    "decisions.plans",  # governance/decisions (plans)
    "decisions.token_checks",  # governance/decisions/cache
}


@pytest.fixture(autouse=True)
def _database_counters(settings):
    settings.RATE_LIMIT_BACKEND = "database"
    settings.RATE_LIMIT_PREFIX = f"test-dec-caches-{uuid.uuid4().hex}"


def _queries(world, token) -> int:
    with CaptureQueriesContext(connection) as captured:
        result = decision_make(
            caller=world.resource, token=token, action="read", resource=world.resource.slug
        )
    assert result.decision == "allow", result.reasons
    return len(captured.captured_queries)


def test_every_cache_is_registered():
    assert set(process_caches.registered()) >= EXPECTED


def test_forget_all_empties_every_cache():
    world = make_world()
    token = world.token()
    cold = _queries(world, token)
    for _ in range(2):
        warm = _queries(world, token)
    assert warm < cold
    assert token_check._VERIFIED and signing._public and access_tokens._lifetime_memo
    process_caches.forget_all()
    assert not token_check._VERIFIED and not signing._public and not signing._private
    assert access_tokens._lifetime_memo is None
    assert cache.epoch_hint() is None
    assert not cache.token_checks._data and not cache.contexts._data
    assert _queries(world, token) == cold  # as cold as the very first decision


def test_process_caches_off_reads_everything_every_time():
    world = make_world()
    token = world.token()
    _queries(world, token)
    warm = _queries(world, token)
    with override_settings(PROCESS_CACHES=False):
        assert not process_caches.enabled()
        assert cache.current_epoch() is None
        off = [_queries(world, token) for _ in range(3)]
        assert not cache.token_checks._data and not cache.contexts._data
        assert not token_check._VERIFIED and not signing._public and not signing._private
    assert off[0] == off[1] == off[2] > warm  # every decision as cold as the first
    assert process_caches.enabled()
    _queries(world, token)
    assert _queries(world, token) == warm  # on again


def test_the_clock_ends_the_epoch_hint_without_a_sleep(clock):
    world = make_world()
    token = world.token()
    _queries(world, token)
    assert cache.epoch_hint() is not None
    clock.advance(cache.HINT_SECONDS + 0.01)
    assert cache.epoch_hint() is None  # trusted for HINT_SECONDS, then read again


def test_a_name_is_registered_once():
    with pytest.raises(ValueError):
        process_caches.register("decisions.plans", lambda: None)
