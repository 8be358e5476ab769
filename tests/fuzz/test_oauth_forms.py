"""Hypothesis over the OAuth endpoints' form bodies (issue 13, "Fuzzing in CI"): any mix of the
parameters the endpoints know, with hostile values, plus unknown ones, repeated ones, and any
client authentication header. Never a 5xx; every error is RFC 6749 §5.2 JSON with one of the
standard codes and ``no-store``. The counts are printed (``pytest -s``)."""

from __future__ import annotations

import base64
import collections
import os
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.api_schema import OAUTH_ERRORS

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_OAUTH_EXAMPLES", "150"))
PARAMS = [
    "grant_type",
    "scope",
    "resource",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
    "token",
    "token_type_hint",
    "workflow_run",
]
KNOWN = [
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:token-type:access_token",
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    "red-bot",
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "agcs_" + "0" * 16 + "_" + "0" * 64 + "_00000000",
]
values = st.one_of(st.sampled_from(KNOWN), st.text(max_size=300), st.binary(max_size=64).map(repr))
names = st.one_of(st.sampled_from(PARAMS), st.text(min_size=1, max_size=20))
pairs = st.lists(st.tuples(names, values), max_size=12)
auth = st.one_of(
    st.none(),
    st.builds(
        lambda u, p: "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode(),
        st.sampled_from(["red-bot", "x", ""]) | st.text(max_size=20),
        st.text(max_size=80),
    ),
    st.text(max_size=60).map(lambda t: f"Basic {t}"),
)
STATS: collections.Counter = collections.Counter()


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_any_form_body_gets_a_standard_answer(path, fuzz_org):
    client = Client()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=pairs, authorization=auth)
    def run(body, authorization):
        headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
        response = client.post(
            path,
            urlencode(body),
            content_type="application/x-www-form-urlencoded",
            **headers,
        )
        STATS[(path, response.status_code)] += 1
        assert response.status_code < 500, response.content
        if response.status_code >= 400:
            data = response.json()
            assert data["error"] in OAUTH_ERRORS, data
            assert response["Cache-Control"] == "no-store"

    run()
    counts = {status: n for (p, status), n in sorted(STATS.items()) if p == path}
    print(f"\nhypothesis {path}: {sum(counts.values())} bodies, statuses {counts}")
