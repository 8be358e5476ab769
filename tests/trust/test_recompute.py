"""Recomputation: levels from the engine, history when the outcome changes, flat query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Agent, AgentVersion, Scope, ScopeGrant
from agents.notices.models import Notice
from audit.models import AuditEntry
from tests import factories as f
from trust.models import TrustComputation, TrustPolicy
from trust.recompute import agent_spans, explain, recompute_agents, recompute_all
from trust.services import record_review_outcome
from trust.tasks import recompute_every_agent

from .conftest import ago, sound_agent

pytestmark = pytest.mark.django_db


def test_fresh_sound_agent_is_pending_and_lacking_agents_untrusted():
    sound = sound_agent()
    no_credential = sound_agent(credential=False)
    no_member = sound_agent(member=False)
    unreviewed = sound_agent(reviewed=False)
    recompute_agents([a.pk for a in (sound, no_credential, no_member, unreviewed)])
    levels = dict(Agent.objects.values_list("slug", "trust_level"))
    assert levels[sound.slug] == "pending"
    assert levels[no_credential.slug] == "untrusted"
    assert levels[no_member.slug] == "untrusted"
    assert levels[unreviewed.slug] == "untrusted"
    assert TrustPolicy.objects.get().version == 1  # the defaults, stored when first used


def test_level_change_is_audited_with_its_breakdown_and_history_kept():
    agent = sound_agent()
    recompute_agents([agent.pk])
    entry = AuditEntry.objects.get(action="trust.level_change")
    assert entry.changes["trust_level"] == ["untrusted", "pending"]
    assert entry.resource == agent.principal
    codes = {row["code"]: row for row in entry.context["breakdown"]}
    assert codes["credential_secret_only"]["status"] == "unmet"
    assert codes["volume_unknown"]["status"] == "insufficient_data"
    row = TrustComputation.objects.get(agent=agent)
    assert row.policy.version == 1 and row.level == "pending"
    factor = next(x for x in row.factors if x["code"] == "credential_secret_only")
    assert factor["advice"] == "register a key credential: +4"
    assert factor["points"] == 0 and factor["possible"] == 10
    notice = Notice.objects.get(team=agent.owner_team, kind="trust.level_changed")
    assert notice.subject == f"{agent.slug} is now pending (was untrusted)"
    assert notice.link == f"/portal/agents/{agent.slug}/"
    # Nothing changed: no new history, no write of the agent row, no audit.
    recompute_agents([agent.pk])
    assert TrustComputation.objects.filter(agent=agent).count() == 1
    assert AuditEntry.objects.filter(action="trust.level_change").count() == 1
    # A certified access review changes the score: a new history row.
    record_review_outcome(agent=agent, certified=True, reference="campaign 1", at=ago(hours=1))
    recompute_agents([agent.pk])
    assert TrustComputation.objects.filter(agent=agent).count() == 2
    agent.refresh_from_db()
    assert agent.trust_score == TrustComputation.objects.filter(agent=agent).first().score


def _world(n: int) -> list[int]:
    team = f.TeamFactory()
    f.team_member(team)
    scope = f.ScopeFactory(name="crm:read", sensitivity="high")
    agents = Agent.objects.bulk_create(
        Agent(slug=f"bulk-{n}-{i}", display_name="Bulk", purpose="p", owner_team=team)
        for i in range(n)
    )
    versions = AgentVersion.objects.bulk_create(
        AgentVersion(agent=a, label="1", config_digest=f.digest(a.slug), reviewed=i % 2 == 0)
        for i, a in enumerate(agents)
    )
    for a, v in zip(agents, versions, strict=True):
        a.current_version = v
    Agent.objects.bulk_update(agents, ["current_version"])
    ScopeGrant.objects.bulk_create(
        ScopeGrant(agent=a, scope=Scope.objects.get(pk=scope.pk), justification="j") for a in agents
    )
    return [a.pk for a in agents]


def _count(ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as queries:
        recompute_agents(ids)
    return len(queries)


def test_query_count_does_not_grow_with_agents():
    small, large = _world(10), _world(1000)
    _count(small[:1])  # stores the default policy (version 1) once
    first = (_count(small), _count(large))
    assert first[0] == first[1], first
    again = (_count(small), _count(large))  # nothing changed: no writes
    assert again[0] == again[1], again
    assert TrustComputation.objects.count() == 1010
    assert not Agent.objects.filter(pk__in=large).exclude(trust_level="untrusted").exists()


def test_recompute_all_walks_every_agent_in_batches():
    ids = _world(25)
    summary = recompute_all(batch_size=7)
    assert summary.agents == 25
    assert summary.written == 25
    assert set(TrustComputation.objects.values_list("agent_id", flat=True)) == set(ids)


def test_spans_cover_every_agent_once():
    ids = sorted(_world(25))
    spans = list(agent_spans(batch_size=7))
    assert [hi for _, hi in spans] == [ids[6], ids[13], ids[20], ids[24]]
    assert [lo for lo, _ in spans] == [0, ids[6], ids[13], ids[20]]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_recompute_all_over_processes_equals_in_process():
    """Spans in two forked processes (each its own connection and transactions) store what the
    in-process walk stores: one history row each, the same levels, an audited level change."""
    ids = _world(25)
    expected = {pk: explain(Agent.objects.get(pk=pk))[0].level for pk in ids}
    summary = recompute_all(batch_size=7, workers=2)
    assert (summary.agents, summary.written) == (25, 25)
    assert dict(Agent.objects.filter(pk__in=ids).values_list("pk", "trust_level")) == expected
    assert TrustComputation.objects.filter(agent_id__in=ids).count() == 25
    changed = sum(level != "untrusted" for level in expected.values())
    assert AuditEntry.objects.filter(action="trust.level_change").count() == changed
    again = recompute_all(batch_size=7, workers=2)
    assert (again.agents, again.written, again.updated) == (25, 0, 0)


def test_beat_task_sends_a_task_per_span(eager_celery):
    ids = _world(25)
    result = recompute_every_agent()
    assert result == {"spans": 1, "pins_expired": 0}  # 25 agents: one span of 2,000
    assert set(TrustComputation.objects.values_list("agent_id", flat=True)) == set(ids)


def test_trust_panel_selector_for_the_portal():
    from trust.selectors import trust_panel
    from trust.services import trust_pin

    agent = sound_agent()
    empty = trust_panel(agent)
    assert empty.computed_at is None and empty.history == [] and empty.components == []
    recompute_agents([agent.pk])
    trust_pin(agent=agent, level="trusted", reason="drill", by="system")
    recompute_agents([agent.pk])
    agent.refresh_from_db()
    panel = trust_panel(agent)
    assert (panel.level, panel.computed_level, panel.pin.reason) == ("trusted", "pending", "drill")
    assert [p.pinned for p in panel.history] == [False, True]
    assert panel.thresholds == [(75, "trusted"), (50, "pending")]
    identity = next(c for c in panel.components if c.component == "identity")
    assert identity.weight == 40 and identity.points == 36.0
    assert any(line.advice == "register a key credential: +4" for line in identity.factors)


def test_a_team_gets_one_notice_for_many_level_changes_in_a_batch():
    first = sound_agent()
    second = sound_agent(owner_team=first.owner_team)
    recompute_agents([first.pk, second.pk])
    notice = Notice.objects.get(team=first.owner_team, kind="trust.level_changed")
    assert notice.subject == "2 of your agents changed trust level"
    assert f"{first.slug} untrusted -> pending" in notice.body
    assert AuditEntry.objects.filter(action="trust.level_change").count() == 2
