"""Identity: who the agent is and how it proves it."""

from __future__ import annotations

from credentials.models import Credential

from ..factors import Component, Factor, FactorStatus
from ..facts import AgentFacts, Context

C = Component.IDENTITY
MET, UNMET, NO_DATA = FactorStatus.MET, FactorStatus.UNMET, FactorStatus.INSUFFICIENT_DATA
POINTS = {
    "registration": 10,
    "sponsor": 15,
    "credential": 25,
    "key_based": 10,
    "credential_age": 15,
    "version_reviewed": 25,
}


def _f(key: str, code: str, ok: bool, sentence: str, improve: str = "") -> Factor:
    points = POINTS[key]
    return Factor(
        C, code, MET if ok else UNMET, points if ok else 0, points, sentence, "" if ok else improve
    )


def registration(facts: AgentFacts) -> Factor:
    missing = [
        name
        for name, present in (
            ("a display name", facts.display_name.strip()),
            ("a purpose", facts.purpose.strip()),
            ("a version", facts.current_version),
        )
        if not present
    ]
    if not missing:
        return _f("registration", "registration_complete", True, "registration is complete")
    text = ", ".join(missing)
    return _f(
        "registration",
        "registration_incomplete",
        False,
        f"registration lacks {text}",
        f"complete the registration ({text})",
    )


def sponsor(facts: AgentFacts) -> Factor:
    if not facts.team_active:
        return _f(
            "sponsor",
            "team_inactive",
            False,
            f"owning team {facts.team_slug} is inactive",
            "move the agent to an active team",
        )
    n = facts.team_members
    if n == 0:
        return _f(
            "sponsor",
            "team_no_members",
            False,
            f"owning team {facts.team_slug} has no active member",
            "add an active member to the owning team",
        )
    return _f(
        "sponsor",
        "team_sponsored",
        True,
        f"owning team {facts.team_slug} has {n} active member{'s' if n != 1 else ''}",
    )


def credential(facts: AgentFacts) -> Factor:
    n = len(facts.credentials)
    if n:
        return _f(
            "credential", "credential_usable", True, f"{n} usable credential{'s' if n != 1 else ''}"
        )
    return _f(
        "credential", "credential_missing", False, "no usable credential", "issue a credential"
    )


def key_based(facts: AgentFacts) -> Factor:
    keys = [c for c in facts.credentials if c.kind == Credential.Kind.PUBLIC_KEY]
    if keys:
        return _f(
            "key_based",
            "credential_key_based",
            True,
            "authenticates with a public key (private_key_jwt)",
        )
    if facts.credentials:
        return _f(
            "key_based",
            "credential_secret_only",
            False,
            "authenticates with client secrets only",
            "register a key credential",
        )
    return _f(
        "key_based",
        "credential_missing",
        False,
        "no usable credential",
        "register a key credential",
    )


def credential_age(facts: AgentFacts, ctx: Context) -> Factor:
    allowed = ctx.policy.credential_max_age_days
    points = POINTS["credential_age"]
    if not facts.credentials:
        return Factor(
            C,
            "credential_age_unknown",
            NO_DATA,
            0,
            points,
            "no usable credential whose age could be judged",
            "issue a credential",
        )
    oldest = min(c.created_at for c in facts.credentials)
    days = (ctx.now - oldest).days
    if days <= allowed:
        return _f(
            "credential_age",
            "credential_age_ok",
            True,
            f"oldest usable credential is {days} days old; policy allows {allowed}",
        )
    return _f(
        "credential_age",
        "credential_age_exceeded",
        False,
        f"credential is {days} days old; policy allows {allowed}",
        "rotate the credential",
    )


def version_reviewed(facts: AgentFacts) -> Factor:
    version = facts.current_version
    if version is None:
        return _f(
            "version_reviewed",
            "version_missing",
            False,
            "no current version",
            "register a version and have it reviewed",
        )
    if version.reviewed:
        return _f(
            "version_reviewed",
            "version_reviewed",
            True,
            f"current version {version.label} is reviewed",
        )
    return _f(
        "version_reviewed",
        "version_unreviewed",
        False,
        f"current version {version.label} is not reviewed",
        "have the version reviewed",
    )


def factors(facts: AgentFacts, ctx: Context) -> list[Factor]:
    return [
        registration(facts),
        sponsor(facts),
        credential(facts),
        key_based(facts),
        credential_age(facts, ctx),
        version_reviewed(facts),
    ]
