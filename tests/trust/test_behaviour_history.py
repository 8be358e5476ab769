"""Behaviour from hand-made usage histories: the 40x-on-a-Saturday agent drops a level."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agents.models import Agent
from audit.models import AuditEntry
from trust.facts import load_context, load_facts
from trust.models import TrustComputation
from trust.policy import policy_in_force
from trust.recompute import recompute_agents
from trust.usage.baselines import baselines_update
from trust.usage.models import UsageHour, UsageTotal, UsageWatermark

from .conftest import sound_agent

pytestmark = pytest.mark.django_db


def next_saturday_at(hour: int, minute: int) -> dt.datetime:
    today = timezone.now().replace(hour=hour, minute=minute, second=0, microsecond=0)
    return today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)


def office_hours(agent: Agent, *, weeks: int, until: dt.datetime, per_hour: int = 20) -> None:
    """Weekdays 09:00–17:00 UTC, ``per_hour`` reads of crm each hour, for ``weeks`` weeks."""
    start = (until - dt.timedelta(weeks=weeks)).replace(minute=0, second=0, microsecond=0)
    rows, hour = [], start
    while hour < until - dt.timedelta(hours=1):
        if hour.weekday() < 5 and 9 <= hour.hour < 17:
            rows.append(
                UsageHour(agent=agent, hour=hour, resource="crm", action="read", allowed=per_hour)
            )
        hour += dt.timedelta(hours=1)
    UsageHour.objects.bulk_create(rows)
    UsageTotal.objects.create(
        agent=agent,
        resource="crm",
        action="read",
        first_at=rows[0].hour,
        last_at=rows[-1].hour,
        last_used_at=rows[-1].hour,
    )


def test_forty_times_on_a_saturday_drops_a_level():
    now = next_saturday_at(16, 20)
    spike_hour = now.replace(hour=15, minute=0)
    calm, spiky = sound_agent(), sound_agent()
    for agent in (calm, spiky):
        office_hours(agent, weeks=5, until=now)
    UsageWatermark.objects.create(name="usage", position=0, through=now)
    baselines_update(now=now)
    recompute_agents([calm.pk, spiky.pk], now=now)
    assert set(Agent.objects.values_list("trust_level", flat=True)) == {"trusted"}

    # 847 reads in one Saturday hour, against 20 an hour on weekdays and never on a Saturday.
    UsageHour.objects.create(
        agent=spiky, hour=spike_hour, resource="crm", action="read", allowed=847
    )
    recompute_agents([calm.pk, spiky.pk], now=now)
    calm.refresh_from_db()
    spiky.refresh_from_db()
    assert calm.trust_level == "trusted"
    assert spiky.trust_level == "pending"
    latest = TrustComputation.objects.filter(agent=spiky).first()
    factors = {row["code"]: row for row in latest.factors}
    assert factors["volume_unusual"]["status"] == "unmet"
    assert factors["volume_unusual"]["sentence"].startswith("847 decisions on crm on Sat ")
    assert factors["hours_unusual"]["status"] == "unmet"
    assert factors["volume_unusual"]["window_end"] is not None
    change = AuditEntry.objects.get(
        action="trust.level_change",
        resource=spiky.principal,
        changes__trust_level=["trusted", "pending"],
    )
    assert any(row["code"] == "volume_unusual" for row in change.context["breakdown"])


def test_twenty_times_the_weekday_volume_on_a_weekday_is_unusual_volume_only():
    now = next_saturday_at(16, 20) - dt.timedelta(days=4)  # the Tuesday before
    now = now.replace(hour=12)
    agent = sound_agent()
    office_hours(agent, weeks=5, until=now.replace(hour=11))
    UsageHour.objects.create(
        agent=agent, hour=now.replace(hour=11, minute=0), resource="crm", action="read", allowed=800
    )
    UsageWatermark.objects.create(name="usage", position=0, through=now)
    baselines_update(now=now)
    recompute_agents([agent.pk], now=now)
    factors = {r["code"]: r for r in TrustComputation.objects.get(agent=agent).factors}
    assert "volume_unusual" in factors and "hours_usual" in factors
    assert "usual 20 ± 0 (40x)" in factors["volume_unusual"]["sentence"]


def test_young_agent_is_learning_not_neutral():
    now = next_saturday_at(16, 20)
    agent = sound_agent()
    office_hours(agent, weeks=1, until=now)
    UsageWatermark.objects.create(name="usage", position=0, through=now)
    baselines_update(now=now)
    recompute_agents([agent.pk], now=now)
    factors = {r["code"]: r for r in TrustComputation.objects.get(agent=agent).factors}
    for code in ("volume_learning", "hours_learning", "resources_learning"):
        assert factors[code]["status"] == "insufficient_data"
        assert factors[code]["points"] == 0
    assert factors["denial_rate_ok"]["status"] == "met"  # enough decisions for a rate already


def test_drift_holds_a_trusted_agent_at_pending_until_a_person_reviews_it():
    from agents.drift.services import configuration_observed, configuration_review
    from tests import factories as f

    now = next_saturday_at(16, 20)
    agent = sound_agent()
    office_hours(agent, weeks=5, until=now)
    UsageWatermark.objects.create(name="usage", position=0, through=now)
    baselines_update(now=now)
    recompute_agents([agent.pk], now=now)
    agent.refresh_from_db()
    assert agent.trust_level == "trusted"
    observed = configuration_observed(agent=agent, digest="sha256:" + "b" * 64, via="test")
    recompute_agents([agent.pk], now=now)
    agent.refresh_from_db()
    latest = TrustComputation.objects.filter(agent=agent).first()
    assert (agent.trust_level, latest.computed_level, latest.caps) == (
        "pending",
        "trusted",
        ["config_drift"],
    )
    configuration_review(observed=observed, by=f.security_reviewer(), reason="diffed the config")
    recompute_agents([agent.pk], now=now)
    agent.refresh_from_db()
    assert agent.trust_level == "trusted"


def test_only_resources_first_used_within_the_window_are_new():
    """The loader reads each resource's first use only where it falls in the policy's window,
    but the agent's first appearance from all of them."""
    now = timezone.now()
    agent = sound_agent()
    for resource, days in (("crm", 60), ("ledger", 8), ("billing", 2), ("", 90)):
        UsageTotal.objects.create(
            agent=agent,
            resource=resource,
            action="read" if resource else "token.issue",
            first_at=now - dt.timedelta(days=days),
            last_at=now,
        )
    ctx = load_context(now=now, policy=policy_in_force())  # new_resource_days = 7
    usage = load_facts([agent.pk], ctx)[agent.pk].usage
    assert usage.first_seen == now - dt.timedelta(days=90)
    assert usage.resources_first_seen == {"billing": now - dt.timedelta(days=2)}
