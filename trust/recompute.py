"""Recompute agents' trust in batches: load facts in bulk, score, store what changed.

Per batch, a fixed number of queries whatever its size (``tests/trust/test_recompute.py``
asserts it for 10 and 1,000 agents): lock the batch's agent rows, load the facts, read each
agent's latest history fingerprint, insert the new history rows in one statement and update
the agents whose score or level changed in one more. Only a *level change* costs more: its
audit entry (with the breakdown that caused it), and one notice per owning team and batch.

An agent's row is written only when its score or level changes: every write of it moves the
decision point's revocation epoch, so an unchanged recomputation must not touch it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, connections, transaction
from django.db.models import Max
from django.utils import timezone

from agents.models import TRUST_ORDER, Agent, Team, TrustLevel
from agents.notices.models import NoticeKind
from agents.notices.services import notify
from audit.bulk import insert_rows
from audit.jsontext import dumps
from audit.services import record_many

from .facts import AgentFacts, Batch, Context, load_context, load_facts
from .models import TrustComputation
from .policy import policy_in_force
from .scoring import Outcome, compute

BATCH = 2000  # agents per transaction: a few thousand ids per IN list stay under SQLite's limits
HISTORY_COLUMNS = (
    "agent_id",
    "computed_at",
    "score",
    "computed_level",
    "level",
    "caps",
    "pin_id",
    "policy_id",
    "factors",
    "fingerprint",
    "level_changed",
)
# What a level change's audit entry keeps of each factor of the history row's breakdown.
BREAKDOWN_KEYS = ("code", "status", "points", "sentence")


@dataclass
class Summary:
    """What a recomputation did."""

    agents: int = 0
    written: int = 0  # history rows (outcome changed)
    updated: int = 0  # agent rows (score or level changed)
    level_changes: int = 0

    def add(self, other: Summary) -> None:
        for name in ("agents", "written", "updated", "level_changes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _batches(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    batch: list[int] = []
    for agent_id in ids:
        batch.append(agent_id)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def recompute_agents(
    agent_ids: Iterable[int], *, now: dt.datetime | None = None, batch_size: int = BATCH
) -> Summary:
    """Recompute the given agents' trust, a batch per transaction."""
    now = now or timezone.now()
    policy = policy_in_force()
    ctx = load_context(now=now, policy=policy)
    summary = Summary()
    for batch in _batches(agent_ids, batch_size):
        summary.add(_recompute_batch(batch, ctx))
    return summary


def agent_spans(batch_size: int = BATCH) -> Iterator[tuple[int, int]]:
    """Every agent, as id ranges ``(lo, hi]`` of ``batch_size`` agents each, read by keyset (no
    OFFSET, no list of all ids held). A span is a batch: one transaction wherever it runs."""
    after = 0
    while True:
        ids = list(
            Agent.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return
        yield after, ids[-1]
        after = ids[-1]


def recompute_span(lo: int, hi: int, *, now: dt.datetime | None = None) -> Summary:
    """The agents with ``lo < id <= hi``, in one transaction: the unit of every full
    recomputation (the beat task's Celery tasks, ``recompute_all``'s walk or its processes)."""
    ctx = load_context(now=now or timezone.now(), policy=policy_in_force())
    return _recompute_batch((), ctx, span=(lo, hi))


def recompute_all(
    *, now: dt.datetime | None = None, batch_size: int = BATCH, workers: int = 1
) -> Summary:
    """Every agent, a span per transaction: in this process, or (``workers`` > 1, PostgreSQL)
    spread over that many forked processes, each with its own connection.

    Spans are independent transactions on disjoint agents, so they may run at once; the one
    row they share, the decision point's revocation epoch, is written by a deferred trigger at
    commit. ``workers`` is ignored on SQLite (one writer at a time) and inside a transaction
    (other processes could not see what it has not committed).
    """
    now = now or timezone.now()
    spans = agent_spans(batch_size)
    if workers > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _in_processes(list(spans), now, workers)
    summary = Summary()
    for lo, hi in spans:
        summary.add(recompute_span(lo, hi, now=now))
    return summary


def _in_processes(spans: list[tuple[int, int]], now: dt.datetime, workers: int) -> Summary:
    """``recompute_span`` for each span, over ``workers`` forked processes."""
    import multiprocessing

    connections.close_all()  # a forked child must open its own connection, never share ours
    summary = Summary()
    with multiprocessing.get_context("fork").Pool(min(workers, len(spans) or 1)) as pool:
        for done in pool.imap_unordered(_span_in_child, [(lo, hi, now) for lo, hi in spans]):
            summary.add(done)
        pool.close()  # let the children finish and exit rather than be terminated
        pool.join()
    return summary


def _span_in_child(job: tuple[int, int, dt.datetime]) -> Summary:
    lo, hi, now = job
    return recompute_span(lo, hi, now=now)


def explain(agent: Agent, *, now: dt.datetime | None = None) -> tuple[Outcome, AgentFacts]:
    """The agent's trust computed now, written nowhere: for ``trust explain`` and the panel."""
    from .policy import current_policy

    ctx = load_context(now=now or timezone.now(), policy=current_policy())
    facts = load_facts([agent.pk], ctx)[agent.pk]
    return compute(facts, ctx), facts


@transaction.atomic
def _recompute_batch(ids: list[int], ctx: Context, *, span: tuple[int, int] | None = None):
    batch = Batch(tuple(ids), span)
    # Lock the rows: a pin or another recomputation of the same agents waits for this batch.
    list(Agent.objects.select_for_update().filter(batch.q("pk")).values_list("pk", flat=True))
    facts = load_facts(ids, ctx, span=span)
    latest = {
        agent_id: (fingerprint, level)
        for agent_id, fingerprint, level in TrustComputation.objects.filter(
            pk__in=TrustComputation.objects.filter(batch.q())
            .values("agent_id")
            .annotate(last=Max("pk"))
            .values("last")
        ).values_list("agent_id", "fingerprint", "level")
    }
    history, updates, changes = [], [], []
    for agent_id, fact in facts.items():
        outcome = compute(fact, ctx)
        fingerprint = outcome.fingerprint
        before = latest.get(agent_id)
        if before is None or before[0] != fingerprint:
            changed = before is None or before[1] != outcome.level
            history.append(_history_row(outcome, fingerprint, ctx, level_changed=changed))
        if (outcome.score, outcome.level) != (fact.trust_score, fact.trust_level):
            updates.append((agent_id, outcome.score, outcome.level))
            if outcome.level != fact.trust_level:
                changes.append((fact, outcome))
    _insert_history(history)
    _update_agents(updates, ctx.now)
    record_many(_level_change_entry(fact, outcome) for fact, outcome in changes)
    _tell_teams(changes, ctx)
    return Summary(len(facts), len(history), len(updates), len(changes))


def _history_row(outcome: Outcome, fingerprint: str, ctx: Context, *, level_changed: bool) -> tuple:
    return (
        outcome.agent_id,
        ctx.now,
        outcome.score,
        outcome.computed_level,
        outcome.level,
        outcome.caps,
        outcome.pin_id,
        ctx.policy.pk,
        outcome.factors_json,
        fingerprint,
        level_changed,
    )


def _insert_history(rows: list[tuple]) -> None:
    """One statement (``audit.bulk.insert_rows``: PostgreSQL, an INSERT over binary arrays;
    SQLite, executemany)."""
    adapt = connection.ops.adapt_datetimefield_value
    insert_rows(
        TrustComputation,
        HISTORY_COLUMNS,
        [(r[0], adapt(r[1]), *r[2:5], dumps(r[5]), *r[6:8], dumps(r[8]), *r[9:]) for r in rows],
    )


def _update_agents(rows: list[tuple[int, int, str]], now: dt.datetime) -> None:
    """Store ``(agent id, score, level)`` rows, stamped ``now``, in one statement.

    PostgreSQL: one UPDATE over ``unnest`` of three arrays (``executemany`` cost a statement per
    agent, a VALUES list a placeholder per value); SQLite: ``executemany`` of the one-row UPDATE.
    Column names come from the model; ``tests/trust/test_recompute_sql.py`` checks the result
    against the ORM's update on both databases.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(Agent._meta.db_table)
    pk = quote(Agent._meta.pk.column)
    score, level, stamped, updated = (
        quote(Agent._meta.get_field(name).column)
        for name in ("trust_score", "trust_level", "trust_updated_at", "updated_at")
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids, scores, levels = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                f"UPDATE {table} SET {score} = v.score, {level} = v.level, "  # noqa: S608
                f"{stamped} = %s, {updated} = %s "
                "FROM unnest(%s::bigint[], %s::integer[], %s::text[]) AS v(id, score, level) "
                f"WHERE {table}.{pk} = v.id",
                [now, now, ids, scores, levels],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET {score} = %s, {level} = %s, "  # noqa: S608
                f"{stamped} = %s, {updated} = %s WHERE {pk} = %s",
                [(s, lv, now, now, agent_id) for agent_id, s, lv in rows],
            )


def _level_change_entry(fact: AgentFacts, outcome: Outcome) -> tuple[str, str, dict]:
    """The audit entry of a level change, with the breakdown that caused it."""
    return (
        "system",
        "trust.level_change",
        dict(
            resource=f"agent:{fact.slug}",
            target_type="agent",
            target_id=fact.agent_id,
            reason=f"score {outcome.score} under policy v{outcome.policy_version}"
            + (f"; capped by {', '.join(outcome.caps)}" if outcome.caps else ""),
            changes={
                "trust_level": [fact.trust_level, outcome.level],
                "trust_score": [fact.trust_score, outcome.score],
            },
            context_data={
                "policy_version": outcome.policy_version,
                "caps": outcome.caps,
                "pin": outcome.pin_id,
                "breakdown": [
                    {key: stored[key] for key in BREAKDOWN_KEYS} for stored in outcome.factors_json
                ],
            },
        ),
    )


def _tell_teams(changes: list[tuple[AgentFacts, Outcome]], ctx: Context) -> None:
    """One notice per owning team and batch: a team whose forty agents change level at once
    (a new policy, the first computation) reads one notice, not forty."""
    by_team: dict[int, list[tuple[AgentFacts, Outcome]]] = defaultdict(list)
    for fact, outcome in changes:
        by_team[fact.team_id].append((fact, outcome))
    teams = Team.objects.in_bulk(list(by_team)) if by_team else {}
    for team_id, rows in by_team.items():
        if len(rows) == 1:
            fact, outcome = rows[0]
            lowered = (
                TRUST_ORDER[TrustLevel(outcome.level)] < TRUST_ORDER[TrustLevel(fact.trust_level)]
            )
            short = "; ".join(
                s.factor.sentence for s in outcome.factors if s.factor.status != "met"
            )
            notify(
                kind=NoticeKind.TRUST_LEVEL_CHANGED,
                subject=f"{fact.slug} is now {outcome.level} (was {fact.trust_level})",
                body=f"{'Lowered' if lowered else 'Raised'} by the trust engine: score "
                f"{outcome.score}"
                + (f", capped by {', '.join(outcome.caps)}" if outcome.caps else "")
                + (f". Short of full marks: {short}." if short else "."),
                team=teams[team_id],
                link=f"/portal/agents/{fact.slug}/",
                dedupe_key=f"trust-level:{fact.agent_id}:{outcome.level}:{ctx.now.isoformat()}",
            )
            continue
        listed = ", ".join(
            f"{fact.slug} {fact.trust_level} -> {outcome.level}" for fact, outcome in rows[:20]
        )
        more = f" and {len(rows) - 20} more" if len(rows) > 20 else ""
        notify(
            kind=NoticeKind.TRUST_LEVEL_CHANGED,
            subject=f"{len(rows)} of your agents changed trust level",
            body=f"The trust engine changed the level of {listed}{more}.",
            team=teams[team_id],
            link="/portal/agents/",
            dedupe_key=f"trust-levels:{team_id}:{rows[0][0].agent_id}:{ctx.now.isoformat()}",
        )
