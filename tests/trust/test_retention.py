"""Retention of the trust history: what the prune keeps, its batches, audit, CLI and task."""

from __future__ import annotations

import datetime as dt
import importlib
import json

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Agent
from audit.models import AuditEntry
from governance.celery import app as celery_app
from governance.schedule import SCHEDULE
from tests import factories as f
from tests.db import statements_refused
from trust.models import TrustComputation, TrustPolicy
from trust.policy import policy_in_force, trust_policy_change
from trust.recompute import recompute_agents
from trust.retention import trust_prune
from trust.selectors import trust_panel
from trust.services import record_review_outcome, trust_pin
from trust.usage.baselines import BASELINES, hour_index
from trust.usage.models import UsageHour, UsageWatermark
from trust.usage.prune import PRUNE

from .conftest import ago, sound_agent

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _rows(*history: tuple[Agent, int, bool]) -> list[int]:
    """History rows ``(agent, days ago, changed the level)``, inserted oldest first as the
    engine writes them (ids grow with the time of computation)."""
    policy = policy_in_force()
    rows = TrustComputation.objects.bulk_create(
        TrustComputation(
            agent=agent,
            computed_at=NOW - dt.timedelta(days=days),
            score=50,
            computed_level="pending",
            level="pending",
            policy=policy,
            factors=[],
            fingerprint=f"{agent.pk}-{days}",
            level_changed=changed,
        )
        for agent, days, changed in sorted(history, key=lambda row: -row[1])
    )
    return [r.pk for r in rows]


def _kept(agent: Agent) -> list[int]:
    days = TrustComputation.objects.filter(agent=agent).values_list("computed_at", flat=True)
    return sorted(round((NOW - at) / dt.timedelta(days=1)) for at in days)


def _world() -> dict[str, Agent]:
    a = {name: f.AgentFactory() for name in ("steady", "idle", "ancient", "quiet")}
    _rows(
        *[(a["steady"], d, c) for d, c in ((100, True), (60, False), (40, True), (10, False))],
        (a["idle"], 400, False),  # its only row: the current breakdown
        *[(a["ancient"], d, c) for d, c in ((400, True), (380, False), (5, False))],
        *[(a["quiet"], d, False) for d in (60, 50)],
    )
    return a


def _expected(agents: dict[str, Agent]) -> None:
    # Defaults: 30 days, level changes 365 days, each agent's latest row always.
    assert _kept(agents["steady"]) == [10, 40, 100]
    assert _kept(agents["idle"]) == [400]
    assert _kept(agents["ancient"]) == [5]
    assert _kept(agents["quiet"]) == [50]


def test_prune_keeps_recent_rows_level_changes_and_every_agents_latest():
    agents = _world()
    result = trust_prune(now=NOW)
    assert (result.history_rows, result.complete) == (4, True)
    _expected(agents)
    entry = AuditEntry.objects.get(action="trust.prune")
    assert entry.actor == "system" and entry.changes == {"history_rows": 4, "usage_rows": 0}
    assert entry.context["policy_version"] == 1 and entry.context["complete"] is True

    again = trust_prune(now=NOW)  # idempotent: nothing left to delete, one entry per run
    assert (again.history_rows, again.usage_rows) == (0, 0)
    assert AuditEntry.objects.filter(action="trust.prune").count() == 2
    _expected(agents)


def test_dry_run_counts_and_changes_nothing():
    agents = _world()
    assert trust_prune(now=NOW, dry_run=True).history_rows == 4
    assert TrustComputation.objects.count() == 10
    assert not AuditEntry.objects.filter(action="trust.prune").exists()
    assert trust_prune(now=NOW, batch_size=3).history_rows == 4
    _expected(agents)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7])
def test_small_batches_prune_the_same_rows(batch_size):
    agents = _world()
    assert trust_prune(now=NOW, batch_size=batch_size).history_rows == 4
    _expected(agents)


def test_windows_come_from_the_policy_in_force():
    agents = _world()
    trust_policy_change(
        by="system",
        reason="short memory",
        changes={"history_keep_days": 7, "level_change_keep_days": 45},
    )
    result = trust_prune(now=NOW)
    assert result.policy_version == 2
    assert _kept(agents["steady"]) == [10, 40]  # the 100-day level change is past 45 days
    assert _kept(agents["ancient"]) == [5]


def test_a_batch_that_fails_deletes_nothing_and_the_next_run_finishes():
    agents = _world()
    with statements_refused("trust_trustcomputation", on="DELETE"), pytest.raises(DatabaseError):
        trust_prune(now=NOW, batch_size=3)
    # The first batch's statement rolled back whole; nothing was audited for the failed run.
    assert TrustComputation.objects.count() == 10
    assert not AuditEntry.objects.filter(action="trust.prune").exists()
    assert trust_prune(now=NOW, batch_size=3).history_rows == 4
    _expected(agents)


def test_the_portal_keeps_its_breakdown_and_last_point():
    agent = sound_agent()
    recompute_agents([agent.pk])
    trust_pin(agent=agent, level="trusted", reason="drill", by="system")
    recompute_agents([agent.pk])
    TrustComputation.objects.update(computed_at=ago(days=400))  # past both windows
    trust_prune()
    agent.refresh_from_db()
    panel = trust_panel(agent)
    assert panel.computed_at is not None and panel.components
    assert [p.pinned for p in panel.history] == [True]  # the latest, the pin's


def test_recompute_marks_the_rows_that_changed_the_level():
    agent = sound_agent()
    recompute_agents([agent.pk])  # untrusted -> pending: the first row
    record_review_outcome(agent=agent, certified=True, reference="c1", at=ago(hours=1))
    recompute_agents([agent.pk])  # a better score, the same level
    trust_pin(agent=agent, level="trusted", reason="drill", by="system")
    recompute_agents([agent.pk])
    rows = list(
        TrustComputation.objects.filter(agent=agent)
        .order_by("id")
        .values_list("level", "level_changed")
    )
    assert rows == [("pending", True), ("pending", False), ("trusted", True)]


def test_the_migration_marks_existing_level_changes():
    agent, other = f.AgentFactory(), f.AgentFactory()
    ids = _rows(*[(agent, d, False) for d in (9, 8, 7, 6)])
    other_ids = _rows(*[(other, d, False) for d in (9, 8)])
    for pk, level in zip(ids, ("pending", "pending", "trusted", "pending"), strict=True):
        TrustComputation.objects.filter(pk=pk).update(level=level)
    migration = importlib.import_module("trust.migrations.0005_retention")
    migration.mark_level_changes(apps, None)
    marked = dict(TrustComputation.objects.values_list("pk", "level_changed"))
    assert [marked[pk] for pk in ids] == [True, False, True, True]
    assert [marked[pk] for pk in other_ids] == [True, False]


def _history_world(n: int) -> None:
    team = f.TeamFactory()
    agents = Agent.objects.bulk_create(
        Agent(slug=f"prune-{n}-{i}", display_name="P", purpose="p", owner_team=team)
        for i in range(n)
    )
    policy = policy_in_force()
    TrustComputation.objects.bulk_create(
        TrustComputation(
            agent=a,
            computed_at=NOW - dt.timedelta(days=days),
            score=1,
            computed_level="untrusted",
            level="untrusted",
            policy=policy,
            factors=[],
            fingerprint=str(days),
        )
        for days in (90, 60, 1)
        for a in agents
    )


def _prune_queries() -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        result = trust_prune(now=NOW)
    return len(queries), result.history_rows


def test_query_count_does_not_grow_with_rows():
    # Baselines folded, so the usage prune runs its batches too (over an empty table).
    UsageWatermark.objects.create(name=BASELINES, position=hour_index(NOW) - 2)
    policy_in_force()
    _history_world(5)  # 10 rows to delete
    small = _prune_queries()
    TrustComputation.objects.all().delete()
    UsageWatermark.objects.filter(name=PRUNE).delete()
    _history_world(500)  # 1,000 rows to delete
    large = _prune_queries()
    assert (small[1], large[1]) == (10, 1000)
    assert small[0] == large[0], (small, large)
    assert not UsageHour.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"history_keep_days": 0}, "history_keep_days"),
        ({"history_keep_days": 400}, "level_change_keep_days"),  # changes kept shorter
        ({"level_change_keep_days": 10}, "level_change_keep_days"),
        ({"usage_keep_days": 60}, "usage_keep_days"),  # below access reviews' 90 days
        ({"usage_keep_days": 5000}, "usage_keep_days"),
    ],
)
def test_bad_retention_windows_are_refused_with_field_errors(changes, field):
    with pytest.raises(ValidationError) as info:
        trust_policy_change(by="system", reason="r", changes=changes)
    assert field in info.value.message_dict
    assert not TrustPolicy.objects.exists()


def test_retention_windows_in_the_policy_api(client):
    client.force_login(f.platform_admin())
    url = "/api/v1/trust/policy/"
    body = client.get(url).json()
    assert (body["history_keep_days"], body["level_change_keep_days"]) == (30, 365)
    assert body["usage_keep_days"] == 100
    bad = client.patch(url, {"usage_keep_days": 30, "reason": "r"}, "application/json")
    assert bad.status_code == 400 and "usage_keep_days" in bad.json()
    ok = client.patch(url, {"history_keep_days": 14, "reason": "r"}, "application/json")
    assert ok.status_code == 200 and ok.json()["history_keep_days"] == 14


def test_the_command_prunes_and_dry_runs(capsys):
    agents = _world()
    call_command("trust", "prune", "--dry-run", "--json")
    dry = json.loads(capsys.readouterr().out)
    assert (dry["history_rows"], dry["dry_run"], dry["usage_before"]) == (4, True, None)
    assert TrustComputation.objects.count() == 10
    call_command("trust", "prune")
    out = capsys.readouterr().out
    assert out.startswith("deleted 4 trust history rows") and "each agent's latest kept" in out
    assert "no hourly usage (the baselines have folded nothing yet)" in out
    entry = AuditEntry.objects.get(action="trust.prune")
    assert entry.reason == "manage.py trust prune"
    assert _kept(agents["idle"]) == [400]


def test_the_beat_task_prunes_and_is_scheduled():
    from trust.tasks import prune

    _world()
    assert prune() == {"history_rows": 4, "usage_rows": 0, "complete": 1}
    assert "trust.prune" in celery_app.tasks
    assert any(item.task == "trust.prune" for item in SCHEDULE)
    assert AuditEntry.objects.get(action="trust.prune").reason == "scheduled retention"
