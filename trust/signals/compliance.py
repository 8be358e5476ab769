"""Compliance posture: grants justified and bounded, rotation kept, reviews done."""

from __future__ import annotations

from agents.models import Sensitivity

from ..factors import Component, Factor, FactorStatus
from ..facts import AgentFacts, Context

C = Component.COMPLIANCE
MET, PARTIAL, UNMET = FactorStatus.MET, FactorStatus.PARTIAL, FactorStatus.UNMET
NO_DATA = FactorStatus.INSUFFICIENT_DATA
POINTS = {"sensitive_grants": 30, "rotation": 25, "grants_reviewed": 25, "access_review": 20}
SENSITIVE = (Sensitivity.HIGH, Sensitivity.CRITICAL)


def _share(code_ok: str, code_bad: str, points: int, ok: int, total: int) -> tuple:
    if ok == total:
        return code_ok, MET, points
    return code_bad, (PARTIAL if ok else UNMET), points * ok / total


def sensitive_grants(facts: AgentFacts, ctx: Context) -> Factor:
    points = POINTS["sensitive_grants"]
    sensitive = [g for g in facts.grants if g.sensitivity in SENSITIVE]
    if not sensitive:
        return Factor(C, "sensitive_grants_none", MET, points, points, "no sensitive grants")
    bad = sorted(g.scope for g in sensitive if not (g.justified and g.expires_at))
    code, status, earned = _share(
        "sensitive_grants_bounded",
        "sensitive_grants_unbounded",
        points,
        len(sensitive) - len(bad),
        len(sensitive),
    )
    if not bad:
        text = f"all {len(sensitive)} sensitive grants are justified and time-bounded"
        return Factor(C, code, status, earned, points, text)
    text = (
        f"{len(bad)} of {len(sensitive)} sensitive grants lack a justification or an "
        f"expiry: {', '.join(bad)}"
    )
    return Factor(
        C,
        code,
        status,
        earned,
        points,
        text,
        "give each sensitive grant a justification and an expiry",
    )


def rotation(facts: AgentFacts, ctx: Context) -> Factor:
    points, allowed = POINTS["rotation"], ctx.rotation_max_age_days
    if not facts.credentials:
        return Factor(
            C,
            "rotation_unknown",
            NO_DATA,
            0,
            points,
            "no usable credential whose rotation could be judged",
            "issue a credential",
        )
    overdue = [c for c in facts.credentials if (ctx.now - c.created_at).days > allowed]
    if not overdue:
        return Factor(
            C,
            "rotation_met",
            MET,
            points,
            points,
            f"every usable credential is within the {allowed}-day rotation policy",
        )
    days = max((ctx.now - c.created_at).days for c in overdue)
    return Factor(
        C,
        "rotation_overdue",
        UNMET,
        0,
        points,
        f"{len(overdue)} usable credential{'s' if len(overdue) != 1 else ''} past the "
        f"{allowed}-day rotation policy (oldest {days} days)",
        "rotate the credential",
    )


def grants_reviewed(facts: AgentFacts, ctx: Context) -> Factor:
    """Every active grant is asked for by the current version, and that version is reviewed."""
    points = POINTS["grants_reviewed"]
    if not facts.grants:
        return Factor(C, "grants_reviewed", MET, points, points, "no active grants")
    version = facts.current_version
    if version is None or not version.reviewed:
        label = version.label if version else "(none)"
        return Factor(
            C,
            "grants_unreviewed_version",
            UNMET,
            0,
            points,
            f"{len(facts.grants)} grants held under version {label}, which is not reviewed",
            "have the version and its scopes reviewed",
        )
    beyond = sorted(g.scope for g in facts.grants if g.scope not in facts.requested_scopes)
    code, status, earned = _share(
        "grants_reviewed",
        "grants_beyond_version",
        points,
        len(facts.grants) - len(beyond),
        len(facts.grants),
    )
    if not beyond:
        return Factor(
            C,
            code,
            status,
            earned,
            points,
            f"every grant is asked for by reviewed version {version.label}",
        )
    return Factor(
        C,
        code,
        status,
        earned,
        points,
        f"{len(beyond)} grants not asked for by reviewed version {version.label}: "
        f"{', '.join(beyond)}",
        "review the grants or revoke them",
    )


def access_review(facts: AgentFacts, ctx: Context) -> Factor:
    points, review = POINTS["access_review"], facts.review
    if review is None:
        return Factor(
            C,
            "access_review_none",
            NO_DATA,
            0,
            points,
            "no access review on record",
            "have the agent's access reviewed",
        )
    when = f"{review.decided_at:%Y-%m-%d}"
    if review.certified:
        return Factor(
            C,
            "access_review_certified",
            MET,
            points,
            points,
            f"last access review certified on {when} ({review.reference})",
        )
    return Factor(
        C,
        "access_review_not_certified",
        UNMET,
        0,
        points,
        f"last access review on {when} was not certified ({review.reference})",
        "resolve the review's findings and have the access certified",
    )


def factors(facts: AgentFacts, ctx: Context) -> list[Factor]:
    return [
        sensitive_grants(facts, ctx),
        rotation(facts, ctx),
        grants_reviewed(facts, ctx),
        access_review(facts, ctx),
    ]
