"""Date-times with any offset Python accepts are read in UTC; one without a UTC value is a 400.

Found by the schema fuzzer on PostgreSQL: ``GET /api/v1/runs/?started_after=0335-08-28T15:55:05
-23:03`` was a 500 (PostgreSQL refuses offsets beyond ±15:59) and, inside a transaction, broke
every query after it. Every date-time filter of every list endpoint is taken from the OpenAPI
schema, so a new one is covered the day it is added; the portal's date-time fields share the
same parsing (``audit/datetimes.py``).
"""

from __future__ import annotations

import datetime as dt

import pytest

from credentials.models import Credential
from tests.portal.conftest import client_for
from tests.portal.conftest import org as org  # a fixture

from .test_pagination import admin_client as admin_client  # a fixture
from .test_pagination import list_urls

pytestmark = pytest.mark.django_db

FAR_OFFSET = "2026-08-28T15:55:05-23:03"  # a valid ISO 8601 offset PostgreSQL cannot store
NO_UTC_VALUE = "0001-01-01T00:00:00+05:00"  # before the year 1 once in UTC


def _datetime_filters(client) -> dict[str, list[str]]:
    schema = client.get("/api/schema/", {"format": "json"}).json()
    found: dict[str, list[str]] = {}
    for path, operations in schema["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter.get("in") == "query" and parameter["schema"].get("format") == "date-time":
                found.setdefault(path, []).append(parameter["name"])
    return found


def test_every_date_time_filter_reads_any_offset_in_utc(admin_client):
    filters = _datetime_filters(admin_client)
    urls = set(list_urls(admin_client))
    checked = 0
    for path, names in filters.items():
        if path not in urls:
            continue
        for name in names:
            far = admin_client.get(path, {name: FAR_OFFSET})
            assert far.status_code == 200, (path, name, far.status_code, far.content[:300])
            bad = admin_client.get(path, {name: NO_UTC_VALUE})
            assert bad.status_code == 400, (path, name, bad.status_code)
            assert name in bad.json(), (path, bad.json())
            checked += 1
    assert checked >= 5, filters  # runs, agents, grants and the audit log's since/until at least


def test_a_far_offset_in_a_portal_form_is_the_same_moment_in_utc(org):
    client = client_for(org["alice"])
    response = client.post(
        "/portal/agents/red-bot/credentials/new/",
        {"kind": "client_secret", "expires_at": "2030-01-01T00:00:00-23:00"},
    )
    assert response.status_code == 200
    credential = Credential.objects.get(agent=org["ours"])
    assert credential.expires_at == dt.datetime(2030, 1, 1, 23, 0, tzinfo=dt.UTC)


def test_a_date_without_a_utc_value_is_a_form_error(org):
    client = client_for(org["alice"])
    response = client.post(
        "/portal/agents/red-bot/credentials/new/",
        {"kind": "client_secret", "expires_at": NO_UTC_VALUE},
    )
    assert response.status_code in (200, 400)
    assert "out of range" in response.content.decode()
    assert not Credential.objects.filter(agent=org["ours"]).exists()
