"""What is signed or trusted outside the chain, checked where the walk meets it: signed
checkpoints, and references (anchors, saved checkpoints, the witness's)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..report import Checkpoint, Link, Reference, Report, Witnessed, iso


@dataclass
class State:
    """What the walk remembers beyond its window, to name each tampering once."""

    archive: Checkpoint | None = None
    shifted: bool = False  # an insertion, swap or renumbering was reported: entries moved
    tail_reported: bool = False
    rewritten: set = field(default_factory=set)  # (seq, hash) a checkpoint already contradicted


def checkpoint(
    report: Report,
    cp: Checkpoint,
    prev: Link | None,
    prev2_hash: str | None,
    nxt: Link | None,
    state: State,
    witness: Witnessed | None,
) -> bool:
    """Check one signed checkpoint; True when it covers the chain up to ``prev``."""
    report.checkpoints += 1
    if cp.iat is not None and (report.last_signed_iat is None or cp.iat > report.last_signed_iat):
        report.last_signed_iat = cp.iat
    if (
        witness is not None
        and cp.iat is not None
        and (witness.since is None or cp.iat >= witness.since)
        and cp.key not in witness.keys
    ):
        report.unwitnessed += 1
        oldest = report.unwitnessed_oldest_iat
        report.unwitnessed_oldest_iat = cp.iat if oldest is None else min(oldest, cp.iat)
    if cp.kind == "archive" and (state.archive is None or cp.seq >= state.archive.seq):
        state.archive = cp
    if prev is None:
        return False  # signs the head of a range archived (or left out of this export)
    if cp.seq == prev.seq:
        report.last_signed_seq = cp.seq
        moved = state.shifted and cp.hash in (prev2_hash, nxt.hash if nxt else None)
        if cp.hash != prev.hash and not moved:
            state.rewritten.add((cp.seq, cp.hash))
            report.add(
                "checkpoint",
                cp.seq,
                f"signed checkpoint at seq {cp.seq} has hash {cp.hash[:16]}…, the entry "
                f"there has {prev.hash[:16]}…: the chain was rewritten up to seq {cp.seq}",
            )
        return True
    if cp.seq > prev.seq:
        # Before the next entry it names one of a gap, reported as deleted there.
        if nxt is None:
            _tail_deleted(report, state, prev, cp.seq, "a signed checkpoint")
        return False
    report.add("reordered", cp.seq, f"checkpoint at seq {cp.seq} is out of order")
    return False


def _tail_deleted(report: Report, state: State, prev: Link, seq: int, who: str) -> None:
    if state.tail_reported:
        return
    state.tail_reported = True
    report.add(
        "deleted",
        prev.seq + 1,
        f"the chain ends at seq {prev.seq}, but {who} names seq {seq}: entries after seq "
        f"{prev.seq} were deleted",
    )


def reference(
    report: Report,
    ref: Reference,
    prev: Link,
    prev2_hash: str | None,
    nxt: Link | None,
    followers: tuple,
    state: State,
    range_end: int | None,
) -> None:
    """Check a trusted reference against the entry at its seq (``prev``, or a gap after it)."""
    if range_end is not None and ref.seq > range_end:
        return  # past the end of this export
    report.references += 1
    if ref.seq > prev.seq:
        if nxt is None:
            _tail_deleted(report, state, prev, ref.seq, f"the {ref.source}")
        return  # otherwise in a gap: reported as deleted at the next entry
    if ref.hash != prev.hash:
        moved = state.shifted and ref.hash in (prev2_hash, nxt.hash if nxt else None)
        if not moved and (ref.seq, ref.hash) not in state.rewritten:
            state.rewritten.add((ref.seq, ref.hash))
            report.add(
                "anchor",
                ref.seq,
                f"the {ref.source} says seq {ref.seq} has hash {ref.hash[:16]}…, the chain has "
                f"{prev.hash[:16]}…: the chain was rewritten up to seq {ref.seq}",
            )
        return
    if report.anchored_seq is None or ref.seq > report.anchored_seq:
        report.anchored_seq = ref.seq
    if ref.signed is not None:
        here = {item.key for item in followers if isinstance(item, Checkpoint)}
        _check_present(report, ref, here)


def _check_present(report: Report, ref: Reference, keys: set) -> None:
    if ref.signed is not None and ref.signed.key not in keys:
        report.add(
            "missing",
            ref.seq,
            f"the checkpoint of seq {ref.seq} signed {iso(ref.signed.iat)} (in the "
            f"{ref.source}) is not among the chain's checkpoints: checkpoints were deleted",
        )


def check_leading(
    report: Report,
    refs: list[Reference],
    keys: set,
    state: State,
    range_start: int | None,
    *,
    empty: bool = False,
) -> None:
    """References before the first entry: an archived range, or a prefix that is missing."""
    archive = state.archive
    for ref in refs:
        if range_start is not None and ref.seq < range_start:
            continue  # before this export
        report.references += 1
        if archive is not None and ref.seq <= archive.seq:
            if ref.seq < archive.seq:
                report.warnings.append(
                    f"the {ref.source} names seq {ref.seq}, archived (through seq "
                    f"{archive.seq}): check it against that archive file"
                )
            elif ref.hash != archive.hash:
                report.add(
                    "anchor",
                    ref.seq,
                    f"the {ref.source} says seq {ref.seq} has hash {ref.hash[:16]}…, the "
                    f"signed archive checkpoint there has {archive.hash[:16]}…",
                )
                continue
            _check_present(report, ref, keys)
        elif empty and not state.tail_reported:
            state.tail_reported = True
            report.add(
                "deleted",
                ref.seq,
                f"the chain has no entries, but the {ref.source} names seq {ref.seq}: "
                f"its entries were deleted",
            )
        # Otherwise the missing prefix was already reported by links.check_start.
