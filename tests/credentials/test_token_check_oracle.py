"""The token check's one hand-written query (``token_check._live_state``) against the ORM, on
generated data, on both databases (issue 15: raw SQL that cannot drift).

Hypothesis makes the subject and up to two actors of every status, grants of every status with
expiries on both sides of "now" (and exactly at it), credentials of every status and expiry,
revoked and live ``jti``s, and a run of every status and deadline, or one that does not exist.
The ORM's reading of the same rows is the oracle.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction
from django.db.models import Q
from hypothesis import example, given
from hypothesis import strategies as st

from agents.models import Agent, ScopeGrant, WorkflowRun
from credentials import process_caches
from credentials.models import Credential, RevokedToken
from credentials.token_check import _live_state
from tests import factories as f
from tests.db import ORACLE_EXAMPLES

pytestmark = pytest.mark.django_db

OFFSETS = st.sampled_from([None, -86400, -1, 0, 1, 3600])
SCOPES = ("ledger:read", "ledger:write", "wiki:read")


class FixedClock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at.timestamp()

    def time(self) -> float:
        return self.at

    def monotonic(self) -> float:
        return self.at


def _at(now: dt.datetime, offset: int | None) -> dt.datetime | None:
    return None if offset is None else now + dt.timedelta(seconds=offset)


def _live(now: dt.datetime) -> Q:
    return Q(status=ScopeGrant.Status.ACTIVE) & (Q(expires_at=None) | Q(expires_at__gt=now))


@ORACLE_EXAMPLES
@given(
    subject=st.sampled_from(Agent.Status.values),
    actors=st.lists(st.sampled_from(Agent.Status.values), max_size=2),
    grants=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.sampled_from(SCOPES),
            st.sampled_from(ScopeGrant.Status.values),
            OFFSETS,
        ),
        max_size=6,
    ),
    credentials=st.lists(st.tuples(st.sampled_from(Credential.Status.values), OFFSETS), max_size=3),
    revoked=st.lists(st.booleans(), min_size=1, max_size=3),  # the token's own jti, ancestors
    run=st.none()
    | st.just("missing")
    | st.tuples(st.sampled_from(WorkflowRun.Status.values), OFFSETS),
)
# The edges, always tried: a rotating credential is usable; "at now" has ended (credential,
# grant, run deadline); an actor's live grant is reported with the actor's slug.
@example("active", [], [], [("rotating", None)], [False], None)
@example("active", [], [(0, "ledger:read", "active", 0)], [("active", 0)], [False], ("running", 0))
@example("active", ["active"], [(1, "wiki:read", "active", 1)], [], [True], ("running", 1))
def test_live_state_reads_what_the_orm_reads(subject, actors, grants, credentials, revoked, run):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    process_caches.use_clock(FixedClock(now))
    try:
        with transaction.atomic():
            _check(now, subject, actors, grants, credentials, revoked, run)
            transaction.set_rollback(True)
    finally:
        process_caches.use_clock(None)


def _check(now, subject, actors, grants, credentials, revoked, run) -> None:
    holders = [f.AgentFactory(status=subject)] + [f.AgentFactory(status=s) for s in actors]
    seen_active = set()
    for index, scope, status, offset in grants:
        holder = holders[min(index, len(holders) - 1)]
        if status == ScopeGrant.Status.ACTIVE and (holder.pk, scope) in seen_active:
            continue  # one active grant per agent and scope (a constraint)
        if status == ScopeGrant.Status.ACTIVE:
            seen_active.add((holder.pk, scope))
        f.ScopeGrantFactory(
            agent=holder,
            scope=f.ScopeFactory(name=scope),
            status=status,
            expires_at=_at(now, offset),
        )
    creds = [
        Credential.objects.create(
            id=uuid.uuid4().hex[:16],
            agent=holders[0],
            kind=Credential.Kind.CLIENT_SECRET,
            status=status,
            expires_at=_at(now, offset),
        ).pk
        for status, offset in credentials
    ]
    jtis = [uuid.uuid4().hex for _ in revoked]
    for jti, is_revoked in zip(jtis, revoked, strict=True):
        if is_revoked:
            RevokedToken.objects.create(jti=jti, expires_at=now, revoked_by="test")
    run_id = ""
    if run == "missing":
        run_id = "no-such-run"
    elif run is not None:
        run_id = f.WorkflowRunFactory(status=run[0], deadline=_at(now, run[1])).run_id
    sub, actor_slugs = holders[0].slug, [a.slug for a in holders[1:]]

    agent, state = _live_state(sub, jtis, creds, actor_slugs, run_id)

    orm = Agent.objects.get(slug=sub)
    assert [getattr(agent, x.attname) for x in Agent._meta.concrete_fields] == [
        getattr(orm, x.attname) for x in Agent._meta.concrete_fields
    ]
    assert state.revoked == RevokedToken.objects.filter(jti__in=jtis).exists()
    assert (
        state.bad_cred
        == Credential.objects.filter(pk__in=creds)
        .filter(~Q(status__in=Credential.USABLE) | Q(expires_at__lte=now))
        .exists()
    )
    assert state.bad_actor == (
        Agent.objects.filter(slug__in=actor_slugs).exclude(status=Agent.Status.ACTIVE).exists()
    )
    open_run = WorkflowRun.objects.filter(
        Q(deadline=None) | Q(deadline__gt=now), run_id=run_id, status=WorkflowRun.Status.RUNNING
    )
    assert state.run_open == (open_run.exists() if run_id else True)
    live = ScopeGrant.objects.filter(_live(now), agent__in=holders)
    assert state.grants == {(g.agent.slug, g.scope.name) for g in live.select_related("agent")}
    ends = [g.expires_at.timestamp() for g in live.exclude(expires_at=None)]
    assert state.grants_until == min(ends, default=float("inf"))


def test_an_unknown_subject_has_no_row():
    agent, state = _live_state("no-such-agent", ["a-jti"], [], [], "")
    assert agent is None and not state.run_open and not state.grants
