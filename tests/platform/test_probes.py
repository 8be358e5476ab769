"""/healthz, /readyz and /metrics as a load balancer, Prometheus and a stranger see them."""

from __future__ import annotations

import json

import pytest
from prometheus_client import REGISTRY

from audit import chain
from audit.services import checkpoint_create, record
from credentials.models import SigningKey
from credentials.services.keys import signing_key_bootstrap
from governance.auditlog.keys import sign_checkpoint
from tests import factories as f

pytestmark = pytest.mark.django_db

STATES = {"ok", "fail", "off"}


@pytest.fixture
def signing_key():
    return signing_key_bootstrap()


def _ready(client, **extra) -> tuple[int, dict]:
    response = client.get("/readyz", **extra)
    assert response["Cache-Control"] == "no-store"
    return response.status_code, json.loads(response.content)


def test_healthz_answers_anyone_by_any_host_name_without_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.0.7")  # not in ALLOWED_HOSTS
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "alive"}
    assert client.post("/healthz").status_code == 405


def test_ready_names_each_check_and_nothing_else(client, signing_key):
    status, body = _ready(client, HTTP_HOST="10.0.0.7")
    assert status == 200, body
    assert body == {
        "status": "ready",
        "checks": {
            "database": "ok",
            "redis": "off",  # the embedded default has none
            "broker": "ok",
            "signing_key": "ok",
            "audit_sequencer": "ok",
            "audit_checkpoint": "ok",
        },
    }


def test_an_unreachable_redis_makes_it_unready_without_saying_where(client, settings, signing_key):
    settings.REDIS_URL = "redis://:s3cret-pw@127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_URL = "redis://:s3cret-pw@127.0.0.1:1/1"
    response = client.get("/readyz")
    body = json.loads(response.content)
    assert response.status_code == 503
    assert body["status"] == "unready"
    assert body["checks"]["redis"] == body["checks"]["broker"] == "fail"
    assert body["checks"]["database"] == "ok"
    text = response.content.decode()
    for leak in ("127.0.0.1", "s3cret", "redis://", "Error", "version"):
        assert leak not in text
    assert set(body["checks"].values()) <= STATES


def test_a_real_redis_is_ok(client, settings, signing_key, redis_url):
    settings.REDIS_URL = redis_url
    settings.CELERY_BROKER_URL = redis_url
    status, body = _ready(client)
    assert status == 200 and body["checks"]["redis"] == body["checks"]["broker"] == "ok"


def test_no_signing_key_or_one_that_cannot_be_opened_is_unready(client, settings):
    assert _ready(client)[1]["checks"]["signing_key"] == "fail"  # none yet
    signing_key_bootstrap()
    assert _ready(client)[1]["checks"]["signing_key"] == "ok"
    # The wrapping keys were replaced by one that did not wrap it.
    settings.SIGNING_KEY_ENCRYPTION_KEYS = ["bm90LXRoZS1rZXktdGhhdC13cmFwcGVkLWl0LTAwMDA="]
    status, body = _ready(client)
    assert status == 503 and body["checks"]["signing_key"] == "fail"
    assert SigningKey.objects.filter(status=SigningKey.Status.CURRENT).count() == 1


def test_a_sequencer_behind_policy_is_unready_until_it_catches_up(client, settings, signing_key):
    settings.AUDIT_SEQUENCER_MAX_LAG = 0  # any waiting entry is too late
    chain.sequence_pending()
    assert _ready(client)[1]["checks"]["audit_sequencer"] == "ok"  # nothing waits
    record(actor="system", action="test.probe")
    status, body = _ready(client)
    assert status == 503 and body["checks"]["audit_sequencer"] == "fail"
    chain.sequence_pending()
    assert _ready(client)[1]["checks"]["audit_sequencer"] == "ok"


def test_a_checkpoint_older_than_policy_makes_it_unready(client, settings, signing_key):
    record(actor="system", action="test.probe")
    chain.sequence_pending()
    assert _ready(client)[1]["checks"]["audit_checkpoint"] == "ok"  # within policy
    settings.AUDIT_CHECKPOINT_MAX_AGE = 0  # the chained entry has waited longer than that
    status, body = _ready(client)
    assert status == 503 and body["checks"]["audit_checkpoint"] == "fail"
    checkpoint_create(signer=sign_checkpoint)
    settings.AUDIT_CHECKPOINT_MAX_AGE = 60
    assert _ready(client)[1]["checks"]["audit_checkpoint"] == "ok"


def _scrape(client, **extra):
    return client.get("/metrics", **extra)


def test_metrics_from_this_host_only_by_default(client):
    assert _scrape(client, REMOTE_ADDR="10.1.2.3").status_code == 403
    assert _scrape(client, REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer x").status_code == 403
    response = _scrape(client, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_metrics_with_a_token(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert _scrape(client, REMOTE_ADDR="127.0.0.1").status_code == 401  # loopback not enough
    wrong = _scrape(client, HTTP_AUTHORIZATION="Bearer scrape-token-0123456788")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    right = _scrape(
        client, REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789"
    )
    assert right.status_code == 200
    assert b"scrape-token" not in right.content


def test_metrics_from_an_allowed_network(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.0.2.5"]
    assert _scrape(client, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert _scrape(client, REMOTE_ADDR="192.0.2.5").status_code == 200
    assert _scrape(client, REMOTE_ADDR="192.0.2.6").status_code == 403
    assert _scrape(client, REMOTE_ADDR="127.0.0.1").status_code == 403


def _sample(text: str, name: str, **labels: str) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_the_database_gauges_are_read_on_scrape(client, signing_key):
    f.AgentFactory(trust_level="trusted")
    f.AgentFactory(trust_level="trusted")
    f.AgentFactory(trust_level="untrusted", status="suspended")
    record(actor="system", action="test.probe")
    text = _scrape(client, REMOTE_ADDR="127.0.0.1").content.decode()
    assert _sample(text, "governance_agents", level="trusted", status="active") == 2
    assert _sample(text, "governance_agents", level="untrusted", status="suspended") == 1
    assert _sample(text, "governance_audit_backlog_entries") >= 1
    assert _sample(text, "governance_audit_sequencer_lag_seconds") >= 0
    assert _sample(text, "governance_metrics_database_up") == 1
    chain.sequence_pending()
    checkpoint_create(signer=sign_checkpoint)
    text = _scrape(client, REMOTE_ADDR="127.0.0.1").content.decode()
    assert _sample(text, "governance_audit_backlog_entries") == 0
    assert 0 <= _sample(text, "governance_audit_checkpoint_age_seconds") < 60


def test_celery_task_outcomes_are_counted():
    from agents.tasks import expire_grants

    labels = {"task": "agents.expire_grants", "outcome": "succeeded"}
    before = REGISTRY.get_sample_value("governance_celery_tasks_total", labels) or 0
    expire_grants.apply()
    assert REGISTRY.get_sample_value("governance_celery_tasks_total", labels) == before + 1
