"""The recomputation's hand-written writes against the ORM, on generated data, both databases.

``recompute._update_agents`` (PostgreSQL: one UPDATE over ``unnest``; SQLite: executemany) must
leave each agent exactly as the ORM's ``update()`` of the same values does, and touch no other.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from agents.models import Agent, TrustLevel
from tests import factories as f
from tests.db import ORACLE_EXAMPLES
from trust.recompute import _update_agents

pytestmark = pytest.mark.django_db

EXAMPLES = ORACLE_EXAMPLES
FIELDS = ("trust_score", "trust_level", "trust_updated_at", "updated_at")
changes = st.lists(
    st.tuples(st.integers(0, 100), st.sampled_from(TrustLevel.values)), min_size=1, max_size=6
)


def _state(agent_ids: list[int]) -> list[tuple]:
    return list(Agent.objects.filter(pk__in=agent_ids).order_by("pk").values_list(*FIELDS))


@EXAMPLES
@given(changes=changes, offset=st.integers(-(10**6), 10**6))
def test_update_agents_writes_what_the_orm_update_writes(changes, offset):
    now = timezone.now() + dt.timedelta(seconds=offset, microseconds=offset)
    team = f.TeamFactory()
    raw = [f.AgentFactory(owner_team=team).pk for _ in changes]
    orm = [f.AgentFactory(owner_team=team).pk for _ in changes]
    bystander = f.AgentFactory(owner_team=team)
    before = _state([bystander.pk])

    _update_agents([(pk, s, lv) for pk, (s, lv) in zip(raw, changes, strict=True)], now)
    for pk, (score, level) in zip(orm, changes, strict=True):
        Agent.objects.filter(pk=pk).update(
            trust_score=score, trust_level=level, trust_updated_at=now, updated_at=now
        )

    assert _state(raw) == _state(orm)
    assert _state([bystander.pk]) == before


@pytest.mark.postgres
def test_history_breakdowns_are_compressed_with_lz4():
    """Migration trust 0006: the history's ``factors`` column compresses new values with lz4
    (where the server has it), and a stored breakdown reads back as it was written."""
    from django.db import connection

    from trust.models import TrustComputation
    from trust.recompute import recompute_agents

    from .conftest import sound_agent

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attname = 'factors'",
            [TrustComputation._meta.db_table],
        )
        assert cursor.fetchone()[0] == "l"
    agent = sound_agent()
    recompute_agents([agent.pk])
    row = TrustComputation.objects.get(agent=agent)
    assert {factor["code"] for factor in row.factors} >= {"registration_complete"}
