"""Prometheus metrics: the exposition at ``/metrics``, the collectors read on scrape, and the
Celery task counters.

Counters and histograms are written where things happen (``credentials.metrics`` for tokens and
throttled authentications, ``governance.decisions.metrics`` for decisions, the Celery signals
below for tasks). Under gunicorn there are several worker processes, each with its own counts,
so with ``PROMETHEUS_MULTIPROC_DIR`` set (``bin/up`` and ``bin/prod`` set it) every process
writes its samples to files there and a scrape adds them up (prometheus_client's multiprocess
mode; the gunicorn config marks a dead worker's files). Celery workers on the same host write
to the same folder, so their task counts appear in the web's ``/metrics`` too.

What the database knows (agents by trust level, the audit sequencer's backlog and lag, the
checkpoint's age) is read when Prometheus scrapes, by collectors, not kept in gauges: one
scrape costs a handful of indexed queries, and nothing on the request path changes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from celery import signals
from django.db import DatabaseError
from django.db.models import Count
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

log = logging.getLogger(__name__)

CELERY_TASKS = Counter(
    "governance_celery_tasks",
    "Celery task runs by task name and outcome (succeeded, failed, retried).",
    ["task", "outcome"],
)


def _task_name(sender: object) -> str:
    return getattr(sender, "name", None) or "unknown"


@signals.task_success.connect
def _task_succeeded(sender: object = None, **_: object) -> None:
    CELERY_TASKS.labels(_task_name(sender), "succeeded").inc()


@signals.task_failure.connect
def _task_failed(sender: object = None, **_: object) -> None:
    CELERY_TASKS.labels(_task_name(sender), "failed").inc()


@signals.task_retry.connect
def _task_retried(sender: object = None, request: object = None, **_: object) -> None:
    name = getattr(request, "task", None) or _task_name(sender)
    CELERY_TASKS.labels(name, "retried").inc()


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            families = list(self._families())
            up = 1
        except DatabaseError as exc:  # the scrape still answers, and says the database is down
            log.warning("metrics: database gauges unavailable: %r", exc)
            families, up = [], 0
        yield from families
        yield GaugeMetricFamily(
            "governance_metrics_database_up",
            "1 if the database gauges of this scrape could be read.",
            value=up,
        )

    def _families(self) -> Iterator[GaugeMetricFamily]:
        from agents.models import Agent
        from audit.selectors import checkpoint_age, sequencer_backlog, sequencer_lag

        agents = GaugeMetricFamily(
            "governance_agents", "Agents by trust level and status.", labels=["level", "status"]
        )
        rows = Agent.objects.order_by().values("trust_level", "status").annotate(n=Count("id"))
        for row in rows:
            agents.add_metric([row["trust_level"], row["status"]], row["n"])
        yield agents

        now = timezone.now()
        yield GaugeMetricFamily(
            "governance_audit_backlog_entries",
            "Audit entries written and waiting for the sequencer.",
            value=sequencer_backlog(),
        )
        yield GaugeMetricFamily(
            "governance_audit_sequencer_lag_seconds",
            "How long the oldest waiting audit entry has waited for its seq (0: none waits).",
            value=sequencer_lag(now=now),
        )
        age = checkpoint_age(now=now)
        if age is not None:
            yield GaugeMetricFamily(
                "governance_audit_checkpoint_age_seconds",
                "Seconds since the last audit checkpoint was signed (or, with none yet, since "
                "the first chained entry was written).",
                value=age,
            )


def exposition() -> bytes:
    """The text every scrape gets: this host's processes' samples plus the database gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
        own = b""
    else:
        own = generate_latest(REGISTRY)  # one process: its own counters
    registry.register(DatabaseCollector())
    return own + generate_latest(registry)
