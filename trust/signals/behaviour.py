"""Behaviour: what the folded audit log says the agent did, against its own baseline.

Everything comes from ``trust.usage``'s counters and baselines, never from the hot path. While
the agent is younger than the policy's learning period, the baseline signals answer
``insufficient_data``: they earn nothing and say so.
"""

from __future__ import annotations

import datetime as dt

from ..factors import Component, Factor, FactorStatus
from ..facts import AgentFacts, Context
from ..usage.baselines import expected, hour_index, hour_of_week, hour_start, week_of

C = Component.BEHAVIOUR
MET, PARTIAL, UNMET = FactorStatus.MET, FactorStatus.PARTIAL, FactorStatus.UNMET
NO_DATA = FactorStatus.INSUFFICIENT_DATA
POINTS = {"denials": 25, "auth_failures": 15, "volume": 35, "hours": 15, "new_resources": 10}
# An hour whose slot has never seen the agent is "an hour it never works" from this many
# decisions on (a stray retry is not a change of habit).
OFF_HOURS_MIN = 5
# A slot's usual volume is at least this, so an hour on a quiet slot is not 40x of nearly 0.
USUAL_FLOOR = 1.0
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _when(index: int) -> str:
    start = hour_start(index)
    return f"{_DAYS[start.weekday()]} {start:%Y-%m-%d %H}:00 UTC"


def _window(ctx: Context) -> tuple[dt.datetime, dt.datetime]:
    return ctx.now - dt.timedelta(days=ctx.policy.behaviour_window_days), ctx.now


def denials(facts: AgentFacts, ctx: Context) -> Factor:
    u, p = facts.usage, ctx.policy
    start, end = _window(ctx)
    points, decisions = POINTS["denials"], u.allowed + u.denied + u.pending
    days = p.behaviour_window_days
    if decisions < p.min_decisions:
        return Factor(
            C,
            "denial_rate_unknown",
            NO_DATA,
            0,
            points,
            f"{decisions} decisions in {days} days; {p.min_decisions} needed to judge "
            "the denial rate",
            "",
            start,
            end,
        )
    rate = u.denied / decisions
    text = (
        f"{u.denied} of {decisions} decisions denied in {days} days ({rate:.0%}); "
        f"policy allows {p.denial_rate_max:.0%}"
    )
    if rate <= p.denial_rate_max:
        return Factor(C, "denial_rate_ok", MET, points, points, text, "", start, end)
    if rate <= 2 * p.denial_rate_max:
        return Factor(
            C,
            "denial_rate_high",
            PARTIAL,
            points / 2,
            points,
            text,
            "ask only for what the agent is granted",
            start,
            end,
        )
    return Factor(
        C,
        "denial_rate_excessive",
        UNMET,
        0,
        points,
        text,
        "ask only for what the agent is granted",
        start,
        end,
    )


def auth_failures(facts: AgentFacts, ctx: Context) -> Factor:
    u, p = facts.usage, ctx.policy
    start, end = _window(ctx)
    points, days = POINTS["auth_failures"], p.behaviour_window_days
    if u.first_seen is None:
        return Factor(
            C,
            "auth_failures_unknown",
            NO_DATA,
            0,
            points,
            "the agent has not been seen in the audit log yet",
            "",
            start,
            end,
        )
    text = (
        f"{u.auth_failed} failed authentications in {days} days; policy allows "
        f"{p.auth_failures_max}"
    )
    if u.auth_failed <= p.auth_failures_max:
        return Factor(C, "auth_failures_ok", MET, points, points, text, "", start, end)
    improve = "check the agent's credential configuration"
    if u.auth_failed <= 3 * max(p.auth_failures_max, 1):
        return Factor(
            C, "auth_failures_high", PARTIAL, points / 2, points, text, improve, start, end
        )
    return Factor(C, "auth_failures_excessive", UNMET, 0, points, text, improve, start, end)


def _learning(facts: AgentFacts, ctx: Context, key: str, what: str) -> Factor | None:
    """insufficient_data while there is no closed hour or the agent is still being learnt."""
    points, p = POINTS[key], ctx.policy
    first = facts.usage.first_seen
    if first is None:
        return Factor(
            C,
            f"{what}_unknown",
            NO_DATA,
            0,
            points,
            "the agent has not been seen in the audit log yet",
        )
    weeks = (ctx.now - first).days // 7
    if ctx.closed_through is None or weeks < p.learning_weeks:
        return Factor(
            C,
            f"{what}_learning",
            NO_DATA,
            0,
            points,
            f"learning the agent's usual {what}: {weeks} of {p.learning_weeks} weeks of history",
        )
    return None


def _judged_hours(facts: AgentFacts, ctx: Context) -> list[tuple]:
    """Each recent closed hour per resource, with what its slot expected (None: no judgement).

    Worked out once per agent (volume and hours both read it).
    """
    usage = facts.usage
    if usage.judged is None:
        first_week = week_of(hour_index(usage.first_seen))
        slots = usage.slots
        usage.judged = [
            (
                resource,
                index,
                n,
                expected(slots.get((resource, hour_of_week(index))), index, first_week),
            )
            for (resource, index), n in sorted(usage.hours.items(), key=lambda kv: kv[0][1])
        ]
    return usage.judged


def volume(facts: AgentFacts, ctx: Context) -> Factor:
    learning = _learning(facts, ctx, "volume", "volume")
    if learning:
        return learning
    p, points = ctx.policy, POINTS["volume"]
    start = hour_start(ctx.closed_through - p.volume_window_hours + 1)
    end = hour_start(ctx.closed_through + 1)
    worst = None
    for resource, index, n, usual in _judged_hours(facts, ctx):
        if not resource or usual is None:
            continue
        base = max(usual.mean, USUAL_FLOOR)
        ratio = n / base
        unusual = ratio >= p.volume_ratio_max and n > usual.mean + 3 * usual.sd
        if unusual and (worst is None or ratio > worst[0]):
            worst = (ratio, resource, index, n, usual)
    if worst is None:
        return Factor(
            C,
            "volume_usual",
            MET,
            points,
            points,
            f"no hour in the last {p.volume_window_hours} h above "
            f"{p.volume_ratio_max:g}x the agent's usual volume",
            "",
            start,
            end,
        )
    ratio, resource, index, n, usual = worst
    return Factor(
        C,
        "volume_unusual",
        UNMET,
        0,
        points,
        f"{n} decisions on {resource} on {_when(index)} against a usual "
        f"{usual.mean:.0f} ± {usual.sd:.0f} ({ratio:.0f}x)",
        "a person should confirm the surge was intended",
        start,
        end,
    )


def hours(facts: AgentFacts, ctx: Context) -> Factor:
    learning = _learning(facts, ctx, "hours", "hours")
    if learning:
        return learning
    p, points = ctx.policy, POINTS["hours"]
    start = hour_start(ctx.closed_through - p.volume_window_hours + 1)
    end = hour_start(ctx.closed_through + 1)
    for resource, index, n, usual in _judged_hours(facts, ctx):
        if resource or usual is None:
            continue
        if usual.mean < 0.05 and n >= OFF_HOURS_MIN:
            return Factor(
                C,
                "hours_unusual",
                UNMET,
                0,
                points,
                f"{n} decisions on {_when(index)}, an hour the agent has not worked "
                f"in {usual.weeks} weeks",
                "a person should confirm the off-hours work was intended",
                start,
                end,
            )
    return Factor(
        C,
        "hours_usual",
        MET,
        points,
        points,
        f"worked only in its usual hours in the last {p.volume_window_hours} h",
        "",
        start,
        end,
    )


def new_resources(facts: AgentFacts, ctx: Context) -> Factor:
    learning = _learning(facts, ctx, "new_resources", "resources")
    if learning:
        return learning
    p, points = ctx.policy, POINTS["new_resources"]
    start = ctx.now - dt.timedelta(days=p.new_resource_days)
    fresh = sorted(r for r, first in facts.usage.resources_first_seen.items() if first >= start)
    if not fresh:
        return Factor(
            C,
            "resources_known",
            MET,
            points,
            points,
            f"no resource first used in the last {p.new_resource_days} days",
            "",
            start,
            ctx.now,
        )
    return Factor(
        C,
        "resources_new",
        PARTIAL,
        points / 2,
        points,
        f"first used {', '.join(fresh)} in the last {p.new_resource_days} days",
        "new resources count fully once they are part of the agent's habits",
        start,
        ctx.now,
    )


def factors(facts: AgentFacts, ctx: Context) -> list[Factor]:
    return [
        denials(facts, ctx),
        auth_failures(facts, ctx),
        volume(facts, ctx),
        hours(facts, ctx),
        new_resources(facts, ctx),
    ]
