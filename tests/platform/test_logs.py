"""Log lines: JSON in production, the audit entries' request id, a quiet sequencer, no secret."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings

from audit.models import AuditEntry
from governance import logs
from tests.credentials.conftest import agent_with_secret

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def json_log():
    """The production config, writing to a buffer; the suite's own config is put back after."""
    buffer = io.StringIO()
    config = logs.config(fmt="json", level="INFO")
    config["handlers"]["console"]["stream"] = buffer
    logging.config.dictConfig(config)
    try:
        yield buffer
    finally:
        logging.config.dictConfig(settings.LOGGING)


def _lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_refused_token_request_logs_json_with_its_audit_entrys_request_id(client, json_log):
    agent = agent_with_secret(scopes=("ledger:read",))
    response = client.post(
        "/oauth/token",
        "grant_type=client_credentials&scope=payroll:write",
        content_type=FORM,
        HTTP_AUTHORIZATION=_basic(agent.client_id, agent.secret),
        HTTP_X_REQUEST_ID="req-logs-1",
    )
    assert response.status_code == 400
    refused = AuditEntry.objects.get(action="token.refuse")
    assert refused.request_id == "req-logs-1"
    line = next(x for x in _lines(json_log) if x["logger"] == "django.request")
    assert line["request_id"] == "req-logs-1"
    assert line["level"] == "WARNING" and line["message"] == "Bad Request: /oauth/token"
    assert agent.secret not in json_log.getvalue()


def test_a_generated_request_id_is_the_one_in_the_log_and_the_response(client, json_log):
    response = client.post("/oauth/token", "grant_type=client_credentials", content_type=FORM)
    assert response.status_code == 401
    (line,) = [x for x in _lines(json_log) if x["logger"] == "django.request"]
    assert line["request_id"] == response["X-Request-ID"] != "-"


def test_text_lines_carry_the_request_id_too():
    formatter = logging.Formatter(logs.TEXT_FORMAT)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    logs.RequestIdFilter().filter(record)
    assert formatter.format(record).endswith("INFO x [-] hello")


def _celery_record(name: str, msg: str, args) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


@pytest.mark.parametrize("task, kept", [("audit.sequence", False), ("agents.expire_grants", True)])
def test_routine_celery_lines_of_the_sequencer_are_dropped(task, kept):
    quiet = logs.QuietTasksFilter()
    info = {"id": "1", "name": task, "return_value": "0", "runtime": 0.9, "args": "", "kwargs": ""}
    for record in (
        _celery_record("celery.app.trace", "Task %(name)s[%(id)s] succeeded", info),
        _celery_record("celery.worker.strategy", "Task %(name)s[%(id)s] received", info),
        _celery_record("celery.beat", "Scheduler: Sending due task %s (%s)", ("every s", task)),
    ):
        assert quiet.filter(record) is kept
    failure = _celery_record("celery.app.trace", "Task %(name)s[%(id)s] raised", info)
    failure.levelno = logging.ERROR
    assert quiet.filter(failure)


def test_an_unknown_format_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        logs.config(fmt="xml", level="INFO")


def _basic(client_id: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
