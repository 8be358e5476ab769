"""The token endpoint from outside: configuration digests (drift) and quarantine.

Real HTTP against a live server, real signatures: a ``config_digest`` form parameter or an
assertion claim that matches no reviewed version is recorded once and the owners told; a bad
one is ``invalid_request``; an UNTRUSTED agent is refused new tokens (client credentials and
token exchange) with ``unauthorized_client``, audited, while introspection still reports it.
"""

from __future__ import annotations

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.drift.models import ObservedConfiguration
from agents.models import OrganisationPolicy
from agents.notices.models import Notice, NoticeKind
from audit.models import AuditEntry
from credentials import process_caches, services
from tests import factories as f
from trust.services import trust_level_set

from .test_attacks import ASSERTION, signed_assertion, token_for
from .test_attacks import world as world

pytestmark = pytest.mark.django_db(transaction=True)

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"


def digest(n: int) -> str:
    return "sha256:" + f"{n:064x}"


def _post(world, **data) -> httpx.Response:
    agent = world["agent"]
    return httpx.post(
        world["token_url"],
        data={"grant_type": "client_credentials", **data},
        auth=(agent.client_id, agent.secret),
    )


@pytest.fixture
def reviewed(world):
    f.AgentVersionFactory(agent=world["agent"].agent, config_digest=digest(1), reviewed=True)
    return digest(1)


def test_no_digest_costs_nothing_and_a_known_one_nothing_after_the_first(world, reviewed):
    # The drift lookups (a cold client's context query reads agents_agentversion too).
    drift_tables = ('"config_digest"', "agents_observedconfiguration")
    with CaptureQueriesContext(connection) as plain:
        assert _post(world).status_code == 200
    # Read now: captured_queries slices the connection's query log by index when asked, and
    # the next request (outside a capture) resets that log, so a later read sees other queries.
    plain_sql = [q["sql"] for q in plain.captured_queries]
    assert _post(world, config_digest=reviewed).status_code == 200  # looked up once
    with CaptureQueriesContext(connection) as known:
        assert _post(world, config_digest=reviewed).status_code == 200
    known_sql = [q["sql"] for q in known.captured_queries]
    assert not any(t in sql for sql in plain_sql for t in drift_tables)
    if process_caches.enabled():
        assert not any(t in sql for sql in known_sql for t in drift_tables)
    assert not ObservedConfiguration.objects.exists()


def test_an_unknown_digest_is_recorded_once_and_the_owners_told(world, reviewed):
    for _ in range(3):
        response = _post(world, config_digest=digest(2))
        assert response.status_code == 200, response.text  # the token still comes
    row = ObservedConfiguration.objects.get()
    assert (row.agent, row.digest, row.seen_via) == (world["agent"].agent, digest(2), "form")
    assert AuditEntry.objects.filter(action="agent.config_drift").count() == 1
    notice = Notice.objects.get(kind=NoticeKind.CONFIG_DRIFT)
    assert notice.team == world["agent"].agent.owner_team


def test_the_digest_as_an_assertion_claim(world, reviewed):
    ok = httpx.post(
        world["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION,
            "client_assertion": signed_assertion(world, config_digest=reviewed),
        },
    )
    assert ok.status_code == 200, ok.text
    drifted = httpx.post(
        world["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION,
            "client_assertion": signed_assertion(world, config_digest=digest(3)),
        },
    )
    assert drifted.status_code == 200
    assert ObservedConfiguration.objects.get().seen_via == "assertion"


@pytest.mark.parametrize(
    "bad",
    ["sha256:xyz", "md5:" + "0" * 32, digest(1).upper(), digest(1) + "\n", "x" * 5000],
)
def test_a_bad_digest_is_invalid_request(world, bad):
    response = _post(world, config_digest=bad)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["cache-control"] == "no-store"
    assert not ObservedConfiguration.objects.exists()
    assert AuditEntry.objects.filter(action="token.refuse").count() == 1


def test_a_claim_that_is_not_a_string_or_disagrees_is_invalid_request(world, reviewed):
    for claim, form in [(123, None), (reviewed, digest(9))]:
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION,
            "client_assertion": signed_assertion(world, config_digest=claim),
        }
        if form:
            data["config_digest"] = form
        response = httpx.post(world["token_url"], data=data)
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_repeated_digest_parameter_is_invalid_request(world, reviewed):
    agent = world["agent"]
    response = httpx.post(
        world["token_url"],
        content=f"grant_type=client_credentials&config_digest={reviewed}&config_digest={reviewed}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(agent.client_id, agent.secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def _quarantine(agent):
    trust_level_set(agent=agent, score=5, level="untrusted", reason="test", by="system")


def test_an_untrusted_agent_gets_no_token_and_it_is_audited(world):
    agent = world["agent"].agent
    live = token_for(world)
    _quarantine(agent)
    for _ in range(2):
        response = _post(world)
        assert response.status_code == 400
        body = response.json()
        assert body["error"] == "unauthorized_client"
        assert "quarantined" in body["error_description"]
    refusals = AuditEntry.objects.filter(action="token.refuse", actor=f"agent:{agent.slug}")
    assert refusals.count() == 2 and set(refusals.values_list("reason", flat=True)) == {
        "quarantined"
    }
    # The owners are told once, not per request.
    assert Notice.objects.filter(kind=NoticeKind.QUARANTINED, team=agent.owner_team).count() == 1
    # Introspection still answers for the token issued before, with the level.
    rs = world["rs"]
    info = httpx.post(
        f"{world['base']}/oauth/introspect",
        data={"token": live},
        auth=(rs.client_id, rs.secret),
    ).json()
    assert info["active"] is True and info["trust_level"] == "untrusted"


def test_policy_may_let_quarantined_agents_have_tokens(world):
    _quarantine(world["agent"].agent)
    OrganisationPolicy.objects.update_or_create(pk=1, defaults={"quarantine_blocks_tokens": False})
    assert _post(world).status_code == 200


def test_token_exchange_refuses_a_quarantined_client_or_subject(world):
    subject_client = world["agent"]
    actor_agent = f.AgentFactory(owner_team=subject_client.agent.owner_team)
    f.ScopeGrantFactory(agent=actor_agent, scope=f.ScopeFactory(name="ledger:read"))
    actor_secret = services.credential_issue(agent=actor_agent, by="system").secret
    subject_token = token_for(world)
    actor_token = httpx.post(
        world["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(actor_agent.slug, actor_secret),
    ).json()["access_token"]

    def exchange():
        return httpx.post(
            world["token_url"],
            data={
                "grant_type": EXCHANGE,
                "subject_token": subject_token,
                "subject_token_type": ACCESS,
                "actor_token": actor_token,
                "actor_token_type": ACCESS,
            },
            auth=(actor_agent.slug, actor_secret),
        )

    assert exchange().status_code == 200, exchange().text
    _quarantine(subject_client.agent)
    refused = exchange()
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "quarantined" in refused.json()["error_description"]
    trust_level_set(
        agent=subject_client.agent, score=50, level="pending", reason="test", by="system"
    )
    _quarantine(actor_agent)
    refused = exchange()
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"
