"""What the walk found: problems by kind, warnings, and what the verification proves; no Django.

Also the types the walk takes (entries, signed checkpoints, trusted references) and the policy
check both verifiers apply after it (``check_policy``: a checkpoint must exist no older than
policy, and the witness must be current).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

MAX_PROBLEMS = 100


class Link(NamedTuple):
    """One chained entry as the walk sees it (a tuple: cheap to make a million of)."""

    seq: int
    id: int
    prev_hash: str
    hash: str
    values: tuple


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint after its signature was checked: the claims are what counts."""

    seq: int
    hash: str
    kind: str
    archived_through: int | None = None
    iat: int | None = None  # when it was signed (seconds since the epoch)

    @property
    def key(self) -> tuple:
        return (self.seq, self.hash, self.kind, self.iat)


@dataclass(frozen=True)
class Reference:
    """A ``(seq, hash)`` trusted from outside the chain under verification.

    ``signed`` is the checkpoint it came from (a saved checkpoints file, the witness), which
    must then still be among the chain's own checkpoints; a bare anchor has none.
    """

    seq: int
    hash: str
    source: str  # for messages: "anchor", "witness line 7", "saved.jsonl line 3"
    signed: Checkpoint | None = None


@dataclass(frozen=True)
class Witnessed:
    """What the witness holds: every checkpoint signed since ``since`` should be in ``keys``."""

    keys: frozenset
    since: int | None  # iat of the first witnessed checkpoint; None for an empty witness


@dataclass
class Problem:
    # changed | deleted | inserted | reordered | broken | checkpoint | anchor | missing | stale
    # | witness
    kind: str
    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.kind.upper()}: {self.message}"


@dataclass
class Report:
    entries: int = 0
    checkpoints: int = 0
    references: int = 0  # anchors and saved or witnessed checkpoints checked
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str = ""
    last_signed_seq: int | None = None
    last_signed_iat: int | None = None
    anchored_seq: int | None = None  # the highest seq a reference confirmed
    unsigned_from: int | None = None  # the oldest entry no signed checkpoint covers ...
    unsigned_since: str | None = None  # ... and when it was written (canonical UTC)
    unwitnessed: int = 0  # checkpoints the witness should hold and does not
    unwitnessed_oldest_iat: int | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False
    workers: int = 1  # processes of the (parallel) pass that produced this report

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, seq: int | None, message: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.problems.append(Problem(kind, seq, message))

    def lines(self) -> list[str]:
        out = [str(p) for p in self.problems]
        if self.truncated:
            out.append(f"... more problems after the first {MAX_PROBLEMS}")
        out += [f"warning: {w}" for w in self.warnings]
        out += [f"proof: {line}" for line in self.proof()]
        span = f"seq {self.first_seq}..{self.last_seq}" if self.entries else "no entries"
        verdict = "OK" if self.ok else f"FAILED ({len(self.problems)} problem(s))"
        refs = f", {self.references} reference(s) checked" if self.references else ""
        out.append(
            f"{verdict}: {self.entries} entries ({span}), {self.checkpoints} checkpoint(s) "
            f"verified{refs}"
        )
        return out

    def proof(self) -> list[str]:
        """What this verification establishes, and what no verifier of this chain can."""
        if not self.entries:
            return []
        out = []
        if self.last_signed_seq is not None:
            signed = f" (the newest signed {iso(self.last_signed_iat)})"
            out.append(
                f"seq {self.first_seq}..{self.last_signed_seq} is covered by signed "
                f"checkpoints{signed if self.last_signed_iat else ''}"
            )
        if self.references:
            if self.anchored_seq is not None:
                out.append(
                    f"the chain agrees with the trusted references (anchors, saved or witnessed "
                    f"checkpoints) up to seq {self.anchored_seq}"
                )
        else:
            out.append(
                "no anchor or witness was checked: a database owner who deleted the checkpoints "
                "could present a rewritten chain (give --anchor, --checkpoints or --witness)"
            )
        out.append(
            "entries written after the newest checkpoint and removed before the next one "
            "leave no trace any verifier can see; the checkpoint policy bounds that window"
        )
        return out


def iso(epoch: int | float | None) -> str:
    if epoch is None:
        return "never"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unsigned_warning(report: Report) -> str:
    """The plain statement about entries no signed checkpoint covers yet ("" if none)."""
    if report.unsigned_from is None or report.last_seq is None:
        return ""
    count = report.last_seq - report.unsigned_from + 1
    return (
        f"seq {report.unsigned_from}..{report.last_seq} ({count} entries, the oldest written "
        f"{report.unsigned_since}) are chained but no signed checkpoint covers them yet: they "
        f"are checked as a chain only, and had entries been removed from its end nothing here "
        f"could show it"
    )


def check_policy(
    report: Report, *, now: float, max_age: float, witness: Witnessed | None = None
) -> None:
    """What a healthy log always shows, made a failure when it does not.

    - a signed checkpoint no older than ``max_age`` seconds: the checkpoint task signs the head
      at least every ``max_age / 2`` even when it has not moved, so an older newest checkpoint
      means signing stopped, or the newer checkpoints were deleted;
    - with no checkpoint at all, no entry older than ``max_age`` (else they are missing);
    - with a witness, every checkpoint older than ``max_age`` in it (else writes to it fail).
    """
    if report.entries:
        if report.last_signed_iat is None:
            since = _epoch(report.unsigned_since)
            if since is not None and now - since > max_age:
                report.add(
                    "missing",
                    report.unsigned_from,
                    f"no signed checkpoint covers seq {report.unsigned_from}..{report.last_seq}, "
                    f"written since {report.unsigned_since} ({_ago(now, since)}; policy: a "
                    f"checkpoint within {max_age:.0f} s): the checkpoints were deleted, or "
                    f"signing never ran",
                )
            elif not report.checkpoints and not report.references:
                report.warnings.append("the log is new: nothing is signed yet")
        elif now - report.last_signed_iat > max_age:
            report.add(
                "stale",
                report.last_signed_seq,
                f"the newest signed checkpoint was signed {iso(report.last_signed_iat)} "
                f"({_ago(now, report.last_signed_iat)}; policy: at most {max_age:.0f} s): "
                f"checkpoint signing has stopped, or newer checkpoints were deleted",
            )
    if witness is not None and report.unwitnessed:
        oldest = report.unwitnessed_oldest_iat or now
        text = (
            f"{report.unwitnessed} checkpoint(s) are not in the witness, the oldest signed "
            f"{iso(oldest)} ({_ago(now, oldest)})"
        )
        if now - oldest > max_age:
            report.add("witness", None, f"{text}: the witness is stale (writes to it fail)")
        else:
            report.warnings.append(f"{text}: not yet written to the witness")


def _epoch(canonical_time: str | None) -> float | None:
    if not canonical_time:
        return None
    return dt.datetime.fromisoformat(canonical_time.replace("Z", "+00:00")).timestamp()


def _ago(now: float, then: float) -> str:
    seconds = max(0, int(now - then))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"
