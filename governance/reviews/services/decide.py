"""Deciding an item: owners answer, reviewers decide each line, sign-off applies them all.

Sign-off is one transaction: lift a quarantine, apply every line through the registry's and
the credential service's own functions (each writes its audit entry, with the campaign and the
item in its reason), re-read what each line is now and record the result, audit the sign-off,
tell the trust engine. Any failure rolls the whole item back: never half-applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agents import services as registry
from agents.errors import RegistryError
from agents.models import ScopeGrant
from audit.principals import By, actor_principal
from audit.services import record
from credentials import services as creds
from credentials.errors import CredentialError
from credentials.models import Credential

from ..errors import ReviewError, ReviewForbidden, ReviewInvalid
from ..models import Decision, ReviewItem, ReviewLine
from ..permissions import can_answer, decide_refusal
from .campaigns import close_if_done


@dataclass(frozen=True)
class LineDecision:
    decision: str
    comment: str = ""
    reduce_to: tuple[str, ...] = ()


def _locked_item(item: ReviewItem) -> ReviewItem:
    locked = (
        ReviewItem.objects.select_for_update(of=("self",))
        .select_related("campaign", "agent__owner_team")
        .get(pk=item.pk)
    )
    if not locked.is_pending:
        raise ReviewError(f"item {locked.pk} is already {locked.get_state_display().lower()}")
    return locked


def _require_decider(user: Any, item: ReviewItem) -> None:
    if isinstance(user, str):
        return
    refusal = decide_refusal(user, item)
    if refusal:
        raise ReviewForbidden(refusal)


def check_line(line: ReviewLine, choice: LineDecision) -> LineDecision:
    """Validate one line's decision; raises ``ReviewInvalid`` naming the field."""
    if choice.decision not in Decision.values:
        raise ReviewInvalid("choose keep, reduce or revoke", field="decision")
    comment = choice.comment.strip()
    reduce_to: tuple[str, ...] = ()
    if choice.decision == Decision.REDUCE:
        if line.kind != ReviewLine.Kind.CONNECTION:
            raise ReviewInvalid("only a connection can be reduced", field="decision")
        reduce_to = tuple(sorted(set(choice.reduce_to or line.recommended_actions)))
        if not reduce_to or not set(reduce_to) < set(line.actions):
            raise ReviewInvalid(
                "reduce to a non-empty part of the allowed actions: " + ", ".join(line.actions),
                field="reduce_to",
            )
    if (
        choice.decision == Decision.KEEP
        and line.kind == ReviewLine.Kind.GRANT
        and line.is_sensitive
        and line.unused
        and not comment
    ):
        raise ReviewInvalid(
            f"keeping the unused {line.sensitivity} grant {line.label} needs a comment",
            field="comment",
        )
    return LineDecision(choice.decision, comment, reduce_to)


@transaction.atomic
def review_item_decide(
    *,
    item: ReviewItem,
    by: By,
    decisions: Mapping[int, LineDecision] | None = None,
    accept_recommendations: bool = False,
) -> ReviewItem:
    """Record decisions on some lines (by line id); ``accept_recommendations`` fills every
    undecided line with its recommendation. Nothing is applied until sign-off."""
    locked = _locked_item(item)
    _require_decider(by, locked)
    lines = {line.pk: line for line in locked.lines.all()}
    decisions = dict(decisions or {})
    unknown = set(decisions) - set(lines)
    if unknown:
        raise ReviewInvalid(f"line {min(unknown)} is not part of item {locked.pk}", field="line")
    if accept_recommendations:
        for pk, line in lines.items():
            if pk not in decisions and not line.decision:
                decisions[pk] = LineDecision(
                    line.recommendation, "", tuple(line.recommended_actions)
                )
    now = timezone.now()
    changed = {}
    for pk, choice in decisions.items():
        line = lines[pk]
        clean = check_line(line, choice)
        line.decision, line.comment, line.reduce_to = (
            clean.decision,
            clean.comment,
            list(clean.reduce_to),
        )
        line.decided_by = None if isinstance(by, str) else by
        line.decided_at = now
        changed[line.label] = clean.decision
    ReviewLine.objects.bulk_update(
        [lines[pk] for pk in decisions],
        ["decision", "comment", "reduce_to", "decided_by", "decided_at"],
    )
    if changed:
        record(
            actor=actor_principal(by),
            action="review.item.decide",
            resource=locked.agent.principal,
            target_type="review_item",
            target_id=locked.pk,
            changes={"campaign": locked.campaign_id, "decisions": changed},
        )
    return locked


@transaction.atomic
def review_item_answer(*, item: ReviewItem, by: By, justification: str) -> ReviewItem:
    """The owning team's answer: why the agent needs what it holds. Reviewers read it."""
    locked = _locked_item(item)
    if not isinstance(by, str) and not can_answer(by, locked):
        raise ReviewForbidden("only the agent's owning team answers its review")
    text = (justification or "").strip()
    if not text:
        raise ReviewInvalid("write the justification", field="justification")
    locked.owner_answer = text[:5000]
    locked.answered_by = None if isinstance(by, str) else by
    locked.answered_at = timezone.now()
    locked.save(update_fields=["owner_answer", "answered_by", "answered_at"])
    record(
        actor=actor_principal(by),
        action="review.item.answer",
        resource=locked.agent.principal,
        target_type="review_item",
        target_id=locked.pk,
        reason=locked.owner_answer,
        changes={"campaign": locked.campaign_id},
    )
    return locked


def _why(item: ReviewItem, line: ReviewLine, how: str) -> str:
    said = line.comment or line.reason
    return f"access review {item.campaign_id} ({item.campaign.name}), item {item.pk}, {how}: {said}"


def _apply_grant(item, line, decision, by, how) -> tuple[str, str]:
    grant = ScopeGrant.objects.filter(pk=line.grant_id).first() if line.grant_id else None
    live = grant is not None and grant.status == ScopeGrant.Status.ACTIVE
    if not live:
        return ReviewLine.Result.UNCHANGED, "the grant had already ended"
    if decision == Decision.REVOKE:
        registry.scope_revoke(grant=grant, by=by, reason=_why(item, line, how))
    return _reread_grant(line, decision)


def _reread_grant(line: ReviewLine, decision: str) -> tuple[str, str]:
    status = ScopeGrant.objects.filter(pk=line.grant_id).values_list("status", flat=True).first()
    wanted = ScopeGrant.Status.REVOKED if decision == Decision.REVOKE else ScopeGrant.Status.ACTIVE
    if status != wanted:
        raise ReviewError(f"grant {line.label} is {status} after applying {decision}")
    if decision == Decision.REVOKE:
        return ReviewLine.Result.APPLIED, "grant revoked"
    return ReviewLine.Result.KEPT, "grant kept"


def _apply_connection(item, line, decision, by, how) -> tuple[str, str]:
    from agents.models import Connection

    conn = Connection.objects.filter(pk=line.connection_id).first() if line.connection_id else None
    if conn is None:
        return ReviewLine.Result.UNCHANGED, "the connection had already been removed"
    if decision == Decision.REVOKE:
        registry.connection_delete(connection=conn, by=by, reason=_why(item, line, how))
        if Connection.objects.filter(pk=conn.pk).exists():
            raise ReviewError(f"connection to {line.label} is still there after revoking it")
        return ReviewLine.Result.APPLIED, "connection removed"
    if decision == Decision.REDUCE:
        keep = sorted(set(line.reduce_to) & set(conn.allowed_actions))
        if not keep:
            raise ReviewError(f"connection to {line.label} no longer allows {line.reduce_to}")
        registry.connection_update(
            connection=conn, data={"allowed_actions": keep}, by=by, reason=_why(item, line, how)
        )
        now_allowed = Connection.objects.values_list("allowed_actions", flat=True).get(pk=conn.pk)
        if sorted(now_allowed) != keep:
            raise ReviewError(f"connection to {line.label} allows {now_allowed} after reducing")
        return ReviewLine.Result.APPLIED, "now allows " + ", ".join(keep)
    return ReviewLine.Result.KEPT, "allows " + ", ".join(sorted(conn.allowed_actions))


def _apply_credential(item, line, decision, by, how) -> tuple[str, str]:
    cred = Credential.objects.filter(pk=line.credential_id).first() if line.credential_id else None
    if cred is None or cred.status in (Credential.Status.REVOKED, Credential.Status.EXPIRED):
        return ReviewLine.Result.UNCHANGED, "the credential had already ended"
    if decision == Decision.REVOKE:
        creds.credential_revoke(credential=cred, by=by, reason=_why(item, line, how))
        status = Credential.objects.values_list("status", flat=True).get(pk=cred.pk)
        if status != Credential.Status.REVOKED:
            raise ReviewError(f"credential {cred.pk} is {status} after revoking it")
        return ReviewLine.Result.APPLIED, "credential revoked"
    return ReviewLine.Result.KEPT, f"credential {cred.status}"


APPLY = {
    ReviewLine.Kind.GRANT: _apply_grant,
    ReviewLine.Kind.CONNECTION: _apply_connection,
    ReviewLine.Kind.CREDENTIAL: _apply_credential,
}


def lift_quarantine(item: ReviewItem, *, by: By, reason: str) -> int:
    """Restore the credentials the item's quarantine suspended (those still suspended)."""
    restored = 0
    for cred in Credential.objects.filter(
        pk__in=item.quarantined_credentials, status=Credential.Status.SUSPENDED
    ):
        creds.credential_restore(credential=cred, by=by, reason=reason)
        restored += 1
    item.quarantined_credentials = []
    return restored


def apply_item(
    item: ReviewItem,
    *,
    by: By,
    how: str,
    state: str,
    choose=lambda line: line.decision,
    now: dt.datetime | None = None,
) -> dict[str, dict[str, str]]:
    """Apply every line of a locked item and record its results (the caller's transaction)."""
    now = now or timezone.now()
    if item.quarantined_credentials:
        lift_quarantine(
            item, by=by, reason=f"access review {item.campaign_id}, item {item.pk}: {how}"
        )
    results = {}
    lines = list(item.lines.all())
    for line in lines:
        decision = choose(line)
        if (
            line.kind == ReviewLine.Kind.CONNECTION
            and decision == Decision.REDUCE
            and not line.reduce_to
        ):
            line.reduce_to = list(line.recommended_actions)
        try:
            line.result, line.result_detail = APPLY[line.kind](item, line, decision, by, how)
        except (RegistryError, CredentialError, ValidationError) as exc:
            # A service refused (the row changed since the campaign opened): nothing of the
            # item is applied, and the reviewer is told which line and why.
            raise ReviewError(f"{line}: {exc}") from exc
        line.decision = decision
        results[f"{line.kind}:{line.label}"] = {"decision": decision, "result": line.result}
    ReviewLine.objects.bulk_update(lines, ["decision", "reduce_to", "result", "result_detail"])
    item.state = state
    item.signed_off_at = now
    item.save(
        update_fields=[
            "state", "signed_off_at", "decided_by", "decision_seconds", "outcome",
            "quarantined_credentials", "ladder_step",
        ]
    )  # fmt: skip
    return results


@transaction.atomic
def review_item_sign_off(*, item: ReviewItem, by: By) -> ReviewItem:
    """Apply every decided line of the item at once and certify the agent."""
    from .outcome import tell_trust

    locked = _locked_item(item)
    _require_decider(by, locked)
    lines = list(locked.lines.all())
    undecided = [line.label for line in lines if not line.decision]
    if undecided:
        raise ReviewInvalid(f"decide every line first: {', '.join(undecided[:5])}", field="line")
    for line in lines:  # the rules again: a decision may predate a policy change
        check_line(line, LineDecision(line.decision, line.comment, tuple(line.reduce_to)))
    now = timezone.now()
    previous = (
        ReviewItem.objects.filter(campaign_id=locked.campaign_id, decided_by=by)
        .exclude(signed_off_at=None)
        .order_by("-signed_off_at")
        .values_list("signed_off_at", flat=True)
        .first()
        if not isinstance(by, str)
        else None
    )
    locked.decided_by = None if isinstance(by, str) else by
    locked.decision_seconds = (now - previous).total_seconds() if previous else None
    changed = any(line.decision != Decision.KEEP for line in lines)
    locked.outcome = "changed" if changed else "certified"
    results = apply_item(
        locked, by=by, how="signed off", state=ReviewItem.State.SIGNED_OFF, now=now
    )
    record(
        actor=actor_principal(by),
        action="review.item.sign_off",
        resource=locked.agent.principal,
        target_type="review_item",
        target_id=locked.pk,
        reason=f"access review {locked.campaign_id} ({locked.campaign.name}), item {locked.pk}",
        changes={"campaign": locked.campaign_id, "lines": results},
    )
    tell_trust(locked, certified=True, at=now)
    close_if_done(locked.campaign)
    return locked
