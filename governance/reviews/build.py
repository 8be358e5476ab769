"""Building a campaign's items and lines in bulk, with evidence and a recommendation per line.

Per chunk of agents a fixed number of queries (agents, grants, connections, credentials, the
three of ``trust.usage.selectors.usage_evidence``) and two bulk inserts, so opening a campaign
over 10,000 agents costs a few hundred statements, not one per grant. Evidence comes from the
usage aggregator only (``trust.usage``): nothing here reads the audit log itself.

The recommendation rules (``unused_days`` from the review policy):

* a grant never used, or not used for ``unused_days``: revoke;
* a connection none of whose actions was used for ``unused_days``: revoke; some unused: reduce
  it to the actions used; otherwise keep;
* a credential at least ``unused_days`` old and not used for that long: revoke;
* everything else: keep.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, models
from django.db.models import Q

from agents.models import Agent, Connection, ScopeGrant, Sensitivity
from credentials.models import Credential
from trust.usage.selectors import Usage, UsageEvidence, usage_evidence

from .models import Campaign, Decision, ReviewItem, ReviewLine, Risk

CHUNK = 2000
LIVE_CREDENTIALS = (*Credential.USABLE, Credential.Status.SUSPENDED)
SENSITIVITY_ORDER = [s.value for s in Sensitivity]
RISK_OF = {Sensitivity.HIGH: Risk.SENSITIVE, Sensitivity.CRITICAL: Risk.CRITICAL}


def at_or_above(sensitivity: str) -> list[str]:
    return SENSITIVITY_ORDER[SENSITIVITY_ORDER.index(sensitivity) :]


def usage_key(resource_slug: str, action: str) -> str:
    """The key of a grant in the usage facts: the resource's slug and the action."""
    return f"{resource_slug}:{action}"


def _unused(usage: Usage, now: dt.datetime, days: int) -> bool:
    return usage.last_used_at is None or (now - usage.last_used_at).days >= days


def _used_words(usage: Usage, now: dt.datetime) -> str:
    if usage.last_used_at is None:
        return "never used"
    return f"last used {(now - usage.last_used_at).days} days ago"


@dataclass(frozen=True)
class Rules:
    now: dt.datetime
    unused_days: int
    credential_max_age_days: int


def grant_line(row: tuple, ev: UsageEvidence, rules: Rules) -> ReviewLine:
    grant_id, agent_id, name, sensitivity, created_at = row
    resource, _, action = name.partition(":")
    usage = ev.grant(agent_id, usage_key(resource, action))
    unused = _unused(usage, rules.now, rules.unused_days)
    if usage.last_used_at is None:
        age = max(0, (rules.now - created_at).days)
        reason = f"never used in the {age} days since it was granted: remove it"
    elif unused:
        reason = f"{_used_words(usage, rules.now)} (policy: {rules.unused_days}): remove it"
    else:
        reason = f"used {usage.uses_30d} times in 30 days, {usage.uses_90d} in 90"
    return _line(
        ReviewLine.Kind.GRANT, usage, rules, created_at,
        grant_id=grant_id, label=name, sensitivity=sensitivity,
        recommendation=Decision.REVOKE if unused else Decision.KEEP, reason=reason,
    )  # fmt: skip


def connection_line(row: tuple, ev: UsageEvidence, rules: Rules) -> ReviewLine:
    conn_id, agent_id, resource, sensitivity, actions, created_at = row
    actions = sorted(actions or [])
    usage = ev.connection(agent_id, resource)
    used = [
        a for a in actions
        if not _unused(ev.grant(agent_id, usage_key(resource, a)), rules.now, rules.unused_days)
    ]  # fmt: skip
    if not used:
        recommendation, keep = Decision.REVOKE, []
        reason = f"no action used for {rules.unused_days}+ days ({_used_words(usage, rules.now)})"
    elif len(used) < len(actions):
        recommendation, keep = Decision.REDUCE, used
        unused = ", ".join(a for a in actions if a not in used)
        reason = f"not used for {rules.unused_days}+ days: {unused}; keep {', '.join(used)}"
    else:
        recommendation, keep = Decision.KEEP, actions
        reason = f"every action used; {usage.uses_30d} uses in 30 days"
    return _line(
        ReviewLine.Kind.CONNECTION, usage, rules, created_at,
        connection_id=conn_id, label=resource, sensitivity=sensitivity, actions=actions,
        recommendation=recommendation, recommended_actions=keep, reason=reason,
    )  # fmt: skip


def credential_line(row: tuple, ev: UsageEvidence, rules: Rules) -> ReviewLine:
    cred_id, _agent_id, kind, created_at = row
    usage = ev.credential(cred_id)
    age = max(0, (rules.now - created_at).days)
    stale = age >= rules.unused_days and _unused(usage, rules.now, rules.unused_days)
    reason = f"{age} days old, {_used_words(usage, rules.now)}"
    if stale:
        reason += f": unused for {rules.unused_days}+ days, revoke it"
    elif age > rules.credential_max_age_days:
        reason += f"; older than the policy's {rules.credential_max_age_days} days: owners rotate"
    return _line(
        ReviewLine.Kind.CREDENTIAL, usage, rules, created_at,
        credential_id=cred_id, label=f"{cred_id} ({kind.replace('_', ' ')})",
        recommendation=Decision.REVOKE if stale else Decision.KEEP, reason=reason[:300],
    )  # fmt: skip


def _line(kind, usage: Usage, rules: Rules, created_at, **fields) -> ReviewLine:
    return ReviewLine(
        kind=kind,
        last_used_at=usage.last_used_at,
        uses_30d=usage.uses_30d,
        uses_90d=usage.uses_90d,
        age_days=max(0, (rules.now - created_at).days),
        **fields,
    )


def insert_lines(lines: list[ReviewLine]) -> None:
    """Insert lines in bulk: on PostgreSQL by COPY, elsewhere by ``bulk_create``.

    Building one INSERT of thousands of rows costs the ORM more than the database spends on it
    (each value prepared, then dumped into arrays); COPY takes the rows as they are.
    ``tests/reviews/test_build.py`` checks both paths write the same rows.
    """
    if connection.vendor != "postgresql":
        ReviewLine.objects.bulk_create(lines, batch_size=2000)
        return
    fields = [f for f in ReviewLine._meta.concrete_fields if not f.primary_key]
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    names = [f.attname for f in fields]
    quote = connection.ops.quote_name
    sql = (
        f"COPY {quote(ReviewLine._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for line in lines:
            copy.write_row(
                [
                    json.dumps(getattr(line, n)) if n in json_fields else getattr(line, n)
                    for n in names
                ]
            )


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def covered_agents(campaign: Campaign, agent_ids: Iterable[int] | None = None) -> list[int]:
    """The ids of the agents a campaign covers (decommissioned agents hold nothing)."""
    agents = Agent.objects.exclude(status=Agent.Status.DECOMMISSIONED)
    if agent_ids is not None:
        agents = agents.filter(pk__in=list(agent_ids))
    if campaign.coverage == Campaign.Coverage.TEAM:
        agents = agents.filter(owner_team=campaign.team)
    return list(agents.order_by("pk").values_list("pk", flat=True))


def build_items(campaign: Campaign, agent_ids: list[int], rules: Rules) -> tuple[int, int]:
    """Insert the campaign's items and lines for ``agent_ids``; returns (items, lines).

    An agent with nothing to review (no live grant, connection or credential in scope) gets
    no item.
    """
    items_total = lines_total = 0
    only_sensitive = campaign.coverage == Campaign.Coverage.SENSITIVITY
    for chunk in _chunks(agent_ids):
        grants = ScopeGrant.objects.active(rules.now).filter(agent_id__in=chunk)
        if only_sensitive:
            grants = grants.filter(scope__sensitivity__in=at_or_above(campaign.min_sensitivity))
        ev = usage_evidence(agent_ids=chunk, now=rules.now)
        per_agent: dict[int, list[ReviewLine]] = defaultdict(list)
        risk: dict[int, str] = {}
        for row in grants.values_list(
            "pk", "agent_id", "scope__name", "scope__sensitivity", "created_at"
        ).order_by("agent_id", "scope__name"):
            per_agent[row[1]].append(grant_line(row, ev, rules))
            level = RISK_OF.get(row[3])
            if level and (risk.get(row[1]) != Risk.CRITICAL):
                risk[row[1]] = level
        if not only_sensitive:
            connections = Connection.objects.filter(agent_id__in=chunk).filter(
                Q(expires_at__isnull=True) | Q(expires_at__gt=rules.now)
            )
            for row in connections.values_list(
                "pk", "agent_id", "resource__slug", "resource__sensitivity", "allowed_actions",
                "created_at",
            ).order_by("agent_id", "resource__slug"):  # fmt: skip
                per_agent[row[1]].append(connection_line(row, ev, rules))
            credentials = Credential.objects.filter(agent_id__in=chunk, status__in=LIVE_CREDENTIALS)
            for row in credentials.values_list("pk", "agent_id", "kind", "created_at").order_by(
                "agent_id", "created_at"
            ):
                per_agent[row[1]].append(credential_line(row, ev, rules))
        if not per_agent:
            continue
        trust = dict(
            (pk, (level, score))
            for pk, level, score in Agent.objects.filter(pk__in=list(per_agent)).values_list(
                "pk", "trust_level", "trust_score"
            )
        )
        items = ReviewItem.objects.bulk_create(
            ReviewItem(
                campaign=campaign,
                agent_id=agent_id,
                risk=risk.get(agent_id, Risk.LOW),
                trust_level=trust[agent_id][0],
                trust_score=trust[agent_id][1],
            )
            for agent_id in sorted(per_agent)
        )
        lines = []
        for item in items:
            for line in per_agent[item.agent_id]:
                line.item = item
                lines.append(line)
        insert_lines(lines)
        items_total += len(items)
        lines_total += len(lines)
    return items_total, lines_total
