"""The decision point's hand-written queries against the ORM, on generated data, both databases.

``selectors.decision_context`` (scope, grant, until when, connection, policy: one query) and
``cache.token_valid_until`` / ``cache.current_epoch`` are compared with what the ORM reads from
the same rows. Hypothesis generates the rows: grants of every status with expiries on both sides
of "now" (and exactly at it), connections with every field set or not, the policy's fields.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from agents.models import Connection, OrganisationPolicy, Scope, ScopeGrant, TrustLevel
from governance.decisions import cache, policy
from governance.decisions.models import Epoch
from governance.decisions.selectors import ConnectionRow, DecisionContext, PolicyRow
from governance.decisions.selectors import decision_context as raw_decision_context
from tests import factories as f
from tests.db import ORACLE_EXAMPLES

pytestmark = pytest.mark.django_db

EXAMPLES = ORACLE_EXAMPLES
ACTIONS = ("read", "write", "delete")
OFFSETS = st.sampled_from([None, -86400, -1, 0, 1, 3600]) | st.integers(-(10**6), 10**6)
LOG_ONLY = st.lists(st.sampled_from(policy.LOG_ONLY_RULES), unique=True, max_size=2)


def _at(now: dt.datetime, offset: int | None) -> dt.datetime | None:
    return None if offset is None else now + dt.timedelta(seconds=offset, microseconds=offset)


grants = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.sampled_from(ScopeGrant.Status.values), OFFSETS),
    max_size=6,
)
connections = st.none() | st.fixed_dictionaries(
    {
        "allowed_actions": st.lists(st.sampled_from(ACTIONS), unique=True),
        "rate_limit": st.none() | st.integers(0, 10**6),
        "rate_window_seconds": st.integers(1, 86400),
        "budget_cap": st.none()
        | st.decimals(0, 10**9, places=4, allow_nan=False, allow_infinity=False),
        "budget_period": st.sampled_from(Connection.BudgetPeriod.values),
        "trust_floor": st.sampled_from(TrustLevel.values),
        "log_only_rules": LOG_ONLY,
        "expires_at": OFFSETS,
        "status": st.sampled_from(Connection.Status.values),
    }
)
policies = st.none() | st.fixed_dictionaries(
    {
        "org_trust_floor": st.sampled_from(TrustLevel.values),
        "log_only_rules": LOG_ONLY,
        "approval_window_minutes": st.integers(1, 10**4),
        "approval_expiry_hours": st.integers(1, 10**4),
    }
)


def _orm_decision_context(*, agent, resource, action: str, now) -> DecisionContext:
    """The same answer, read with the ORM: the oracle."""
    active = ScopeGrant.objects.filter(
        agent=agent,
        scope__resource=resource,
        scope__action=action,
        status=ScopeGrant.Status.ACTIVE,
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    expiries = list(active.values_list("expires_at", flat=True))
    until = None if not expiries or None in expiries else max(expiries)
    conn = Connection.objects.filter(agent=agent, resource=resource, status="active").first()
    org = OrganisationPolicy.current()
    return DecisionContext(
        scope_known=Scope.objects.filter(resource=resource, action=action).exists(),
        granted=bool(expiries),
        connection=None
        if conn is None
        else ConnectionRow(
            pk=conn.pk,
            allowed_actions=conn.allowed_actions,
            rate_limit=conn.rate_limit,
            rate_window_seconds=conn.rate_window_seconds,
            budget_cap=conn.budget_cap,
            budget_period=conn.budget_period,
            trust_floor=conn.trust_floor,
            log_only_rules=conn.log_only_rules,
            expires_at=conn.expires_at,
        ),
        policy=PolicyRow(
            org.org_trust_floor,
            org.log_only_rules,
            org.approval_window_minutes,
            org.approval_expiry_hours,
        ),
        granted_until=until,
    )


@EXAMPLES
@given(
    grants=grants,
    conn=connections,
    org=policies,
    asked=st.sampled_from((*ACTIONS, "legacy")),
    other_agent=st.booleans(),
)
def test_decision_context_reads_what_the_orm_reads(grants, conn, org, asked, other_agent):
    now = timezone.now()
    with transaction.atomic():
        resource = f.ResourceFactory(slug=f"r{uuid.uuid4().hex[:10]}")
        agent, stranger = f.AgentFactory(), f.AgentFactory()
        scopes = {a: f.ScopeFactory(name=f"{resource.slug}:{a}") for a in ACTIONS[:2]}
        for action, status, offset in grants:
            if action not in scopes:
                continue
            grant_status = status
            if (
                status == ScopeGrant.Status.ACTIVE
                and ScopeGrant.objects.filter(
                    agent=agent, scope=scopes[action], status=status
                ).exists()
            ):
                grant_status = ScopeGrant.Status.REVOKED  # one active grant per scope
            f.ScopeGrantFactory(
                agent=agent, scope=scopes[action], status=grant_status, expires_at=_at(now, offset)
            )
        for scope in scopes.values():
            f.ScopeGrantFactory(agent=stranger, scope=scope)  # someone else's: never ours
        if conn is not None:
            f.ConnectionFactory(
                agent=agent,
                resource=resource,
                **{**conn, "expires_at": _at(now, conn["expires_at"])},
            )
        OrganisationPolicy.objects.all().delete()
        if org is not None:
            OrganisationPolicy.objects.create(pk=1, **org)
        asking = stranger if other_agent else agent
        # A legacy scope named like the resource but bound to none is never the resource's.
        f.ScopeFactory(name=f"{resource.slug}:legacy", resource=None)
        raw = raw_decision_context(
            agent_id=asking.pk, resource_id=resource.pk, action=asked, now=now
        )
        oracle = _orm_decision_context(agent=asking, resource=resource, action=asked, now=now)
        assert raw == oracle
        if raw.connection is not None:
            assert isinstance(raw.connection.budget_cap, Decimal | None)
        transaction.set_rollback(True)


@EXAMPLES
@given(
    credentials=st.lists(OFFSETS, max_size=3),
    run=st.none() | OFFSETS,
    exp=st.integers(-(10**6), 10**6),
)
def test_token_valid_until_is_the_earliest_end_the_orm_sees(credentials, run, exp):
    from credentials.models import Credential

    now = timezone.now()
    with transaction.atomic():
        agent = f.AgentFactory()
        ids = []
        for offset in credentials:
            credential = Credential.objects.create(
                id=uuid.uuid4().hex[:16],
                agent=agent,
                kind=Credential.Kind.CLIENT_SECRET,
                expires_at=_at(now, offset),
            )
            ids.append(credential.pk)
        run_id = ""
        if run is not None:
            run_id = f.WorkflowRunFactory(deadline=_at(now, run)).run_id
        token_exp = now.timestamp() + exp
        ends = [
            c.expires_at.timestamp()
            for c in Credential.objects.filter(pk__in=ids, expires_at__isnull=False)
        ]
        if run_id:
            from agents.models import WorkflowRun

            deadline = WorkflowRun.objects.get(run_id=run_id).deadline
            ends += [deadline.timestamp()] if deadline is not None else []
        oracle = min([token_exp + 5, *ends])
        raw = cache.token_valid_until(exp=token_exp, leeway=5, credential_ids=ids, run=run_id)
        assert raw == pytest.approx(oracle, abs=1e-6)
        transaction.set_rollback(True)


@pytest.mark.process_caches  # with the caches off there is no epoch to read
@pytest.mark.django_db(transaction=True)  # the epoch is read outside a transaction only
def test_current_epoch_is_the_row_the_orm_reads():
    f.AgentFactory()  # a write: the triggers make the row
    assert cache.current_epoch() == Epoch.objects.get(pk=1).value
    Epoch.objects.all().delete()
    assert cache.current_epoch() is None  # no row: nothing may be cached
    f.AgentFactory()
    assert cache.current_epoch() == Epoch.objects.get(pk=1).value
    assert connection.vendor in ("postgresql", "sqlite")
