"""The walk over the chain: one pass, constant memory, each tampering named once; no Django.

Both verifiers feed it: ``manage.py audit verify`` from the database, ``python -m audit.verifier``
from an export. It takes entries and signed checkpoints in ``seq`` order and, optionally,
*references* trusted from outside the chain: anchors the operator saved (``seq:hash``) and
signed checkpoints from a file saved earlier or from the witness. What it can prove, and what
it cannot, is in docs/audit.md ("What the verifier proves").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .canonical import GENESIS, entry_hash
from .report import Checkpoint, Link, Reference, Report, Witnessed, iso, unsigned_warning

__all__ = ["interleave", "walk"]


def _windows(
    items: Iterable,
) -> Iterator[tuple[Link | None, tuple, Link | None]]:
    """``(entry, what follows it, next entry)``; leading checkpoints come with ``None``.

    One generator (not two stacked ones) and no list per entry: it runs once per entry.
    """
    cur: Link | None = None
    after: tuple = ()
    started = False
    for item in items:
        if isinstance(item, Link):
            if started or after:
                yield cur, after, item
            cur, after, started = item, (), True
        else:
            after = (*after, item)
    if started or after:
        yield cur, after, None


def interleave(items: Iterable, extra: Iterable) -> Iterator:
    """``items`` (in seq order) with each of ``extra`` (in seq order) placed after everything of
    its seq: checkpoints after their entry, references after the entry's checkpoints.

    What ``heapq.merge`` with a key did, without a key call per entry (``extra`` are few).
    """
    pending = iter(extra)
    nxt = next(pending, None)
    for item in items:
        while nxt is not None and nxt.seq < item.seq:
            yield nxt
            nxt = next(pending, None)
        yield item
    while nxt is not None:
        yield nxt
        nxt = next(pending, None)


@dataclass
class _State:
    """What the walk remembers beyond its window, to name each tampering once."""

    archive: Checkpoint | None = None
    shifted: bool = False  # an insertion, swap or renumbering was reported: entries moved
    tail_reported: bool = False
    rewritten: set = field(default_factory=set)  # (seq, hash) a checkpoint already contradicted


def walk(
    items: Iterable[Link | Checkpoint],
    *,
    references: Sequence[Reference] = (),
    witness: Witnessed | None = None,
    find_seq_by_hash: Callable[[str], int | None] | None = None,
    report: Report | None = None,
    range_start: int | None = None,
    range_end: int | None = None,
) -> Report:
    """Verify entries and checkpoints streamed in ``seq`` order (a checkpoint after its entry).

    Memory stays constant: the walk holds the previous two entries and one entry of look-ahead
    (and the references it was given). ``find_seq_by_hash`` (optional) is asked only at a
    break, to recognise an entry moved far. Each tampering is reported once: the links and
    signed hashes it breaks as a consequence (the entry after a swapped pair, a checkpoint
    whose entry an insertion moved one seq on) are recognised as such and not reported again.
    ``range_start``/``range_end``: the seq range of a partial export (what lies outside it is
    not in the stream and is not expected).
    """
    report = report or Report()
    state = _State()
    refs = sorted(references, key=lambda r: r.seq)
    stream = interleave(items, refs) if refs else items
    prev: Link | None = None
    prev2_hash: str | None = None
    # seq -> why the link into it is already explained ("swap": the second of a swapped pair,
    # "inserted": the entry after an inserted one).
    explained: dict[int, str] = {}
    relaxed_link: str | None = None  # after a swap, the hash the next entry should link to
    unsigned: Link | None = None  # the oldest entry no signed checkpoint covers yet
    leading: list[Reference] = []  # references before the first entry
    leading_keys: set = set()

    for cur, followers, nxt in _windows(stream):
        if cur is not None:
            report.entries += 1
            if unsigned is None:
                unsigned = cur
            inserted = (
                prev is not None
                and nxt is not None
                and cur.seq not in explained
                and nxt.prev_hash == prev.hash
                and nxt.prev_hash != cur.hash
                and cur.prev_hash != nxt.hash  # that is a swap of the two, not an insertion
            )
            if inserted:
                # Its successor links straight past it to its predecessor.
                report.add(
                    "inserted",
                    cur.seq,
                    f"entry seq {cur.seq} (id {cur.id}) was inserted: seq {nxt.seq} links to "
                    f"seq {prev.seq}, past it",
                )
                explained[nxt.seq] = "inserted"
                state.shifted = True
                relaxed_link = None
            else:
                if prev is None:
                    report.first_seq = cur.seq
                    _check_start(report, cur, state.archive, range_start)
                    if leading:
                        _check_leading(report, leading, leading_keys, state, range_start)
                        leading = []
                else:
                    before = len(report.problems)
                    relaxed_link = _check_link(
                        report,
                        cur,
                        prev,
                        prev2_hash,
                        nxt,
                        relaxed_link,
                        explained,
                        find_seq_by_hash,
                    )
                    state.shifted = state.shifted or len(report.problems) > before
                if entry_hash(cur.values, cur.prev_hash) != cur.hash:
                    report.add(
                        "changed",
                        cur.seq,
                        f"entry seq {cur.seq} (id {cur.id}) was changed: its content no longer "
                        f"matches its hash",
                    )
            prev2_hash, prev = (prev.hash if prev else None), cur
            report.last_seq, report.last_hash = cur.seq, cur.hash

        for item in followers:
            if isinstance(item, Checkpoint):
                if _checkpoint(report, item, prev, prev2_hash, nxt, state, witness):
                    unsigned = None
                if prev is None:
                    leading_keys.add(item.key)
            elif prev is None:
                leading.append(item)
            else:
                _reference(report, item, prev, prev2_hash, nxt, followers, state, range_end)

    if leading:  # no entry at all
        _check_leading(report, leading, leading_keys, state, range_start, empty=True)
    if unsigned is not None:
        report.unsigned_from, report.unsigned_since = unsigned.seq, unsigned.values[1]
        report.warnings.append(unsigned_warning(report))
    return report


def _checkpoint(
    report: Report,
    cp: Checkpoint,
    prev: Link | None,
    prev2_hash: str | None,
    nxt: Link | None,
    state: _State,
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


def _tail_deleted(report: Report, state: _State, prev: Link, seq: int, who: str) -> None:
    if state.tail_reported:
        return
    state.tail_reported = True
    report.add(
        "deleted",
        prev.seq + 1,
        f"the chain ends at seq {prev.seq}, but {who} names seq {seq}: entries after seq "
        f"{prev.seq} were deleted",
    )


def _reference(
    report: Report,
    ref: Reference,
    prev: Link,
    prev2_hash: str | None,
    nxt: Link | None,
    followers: tuple,
    state: _State,
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


def _check_leading(
    report: Report,
    refs: list[Reference],
    keys: set,
    state: _State,
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
        # Otherwise the missing prefix was already reported by _check_start.


def _check_start(
    report: Report, cur: Link, archive: Checkpoint | None, range_start: int | None
) -> None:
    """The first entry links to the genesis, to a signed archive checkpoint, or is a range's."""
    starts_a_range = range_start is not None and cur.seq == range_start > 1
    if starts_a_range and (archive is None or archive.seq != cur.seq - 1):
        report.warnings.append(
            f"this export starts at seq {cur.seq}; what precedes it is not in the "
            f"file (entries up to each signed checkpoint are still proven by it)"
        )
        return
    if archive is not None and cur.seq == archive.seq + 1:
        if cur.prev_hash != archive.hash:
            report.add(
                "anchor",
                cur.seq,
                f"first entry seq {cur.seq} does not link to the signed archive checkpoint at "
                f"seq {archive.seq}",
            )
    elif cur.seq == 1:
        if cur.prev_hash != GENESIS:
            report.add("anchor", 1, "seq 1 does not start from the genesis hash")
    elif archive is not None and cur.seq <= archive.seq:
        report.add(
            "anchor", cur.seq, f"seq {cur.seq} lies inside the range archived through {archive.seq}"
        )
    elif archive is not None:
        report.add(
            "deleted",
            archive.seq + 1,
            f"entries seq {archive.seq + 1}..{cur.seq - 1} are missing (deleted) after the "
            f"archive checkpoint at seq {archive.seq}",
        )
    else:
        report.add(
            "deleted",
            1,
            f"entries seq 1..{cur.seq - 1} are missing (deleted): the chain starts at seq "
            f"{cur.seq} and no signed archive checkpoint covers them",
        )


def _check_link(
    report: Report,
    cur: Link,
    prev: Link,
    prev2_hash: str | None,
    nxt: Link | None,
    relaxed_link: str | None,
    explained: dict[int, str],
    find_seq_by_hash: Callable[[str], int | None] | None,
) -> str | None:
    """Report a broken link between ``prev`` and ``cur``.

    Returns the hash the next entry may link to instead of ``cur.hash``: inside and right after
    a swapped pair the links cross over (for seq s and s+1 swapped, s links to s+1, s+1 to
    s-1 and s+2 to s), and those crossings are the swap already reported, not new breaks.
    """
    reason = explained.pop(cur.seq, None)
    if reason is not None:
        return prev.hash if reason == "swap" else None
    gap = cur.seq - prev.seq - 1
    if gap < 0:
        report.add("reordered", cur.seq, f"seq {cur.seq} comes after seq {prev.seq}: out of order")
        return None
    if gap > 0:
        missing = f"seq {prev.seq + 1}" if gap == 1 else f"seq {prev.seq + 1}..{cur.seq - 1}"
        report.add(
            "deleted",
            prev.seq + 1,
            f"{gap} entr{'y' if gap == 1 else 'ies'} missing (deleted): {missing}, between "
            f"seq {prev.seq} and seq {cur.seq}",
        )
        return None
    if cur.prev_hash == (relaxed_link or prev.hash):
        return None
    if nxt is not None and cur.prev_hash == nxt.hash:
        report.add(
            "reordered",
            cur.seq,
            f"entries seq {cur.seq} (id {cur.id}) and seq {nxt.seq} (id {nxt.id}) are swapped: "
            f"seq {cur.seq} links to the hash of seq {nxt.seq}",
        )
        explained[nxt.seq] = "swap"
        return prev.hash
    if prev2_hash is not None and cur.prev_hash == prev2_hash:
        report.add(
            "inserted",
            prev.seq,
            f"entry seq {prev.seq} (id {prev.id}) was inserted: seq {cur.seq} links to "
            f"seq {prev.seq - 1}, past it",
        )
        return None
    moved = find_seq_by_hash(cur.prev_hash) if find_seq_by_hash else None
    if moved is not None:
        report.add(
            "reordered",
            cur.seq,
            f"seq {cur.seq} (id {cur.id}) links to the hash of seq {moved}, not of seq "
            f"{prev.seq}: entries are out of order",
        )
    else:
        report.add(
            "broken",
            cur.seq,
            f"seq {cur.seq} (id {cur.id}) does not link to seq {prev.seq}: seq {prev.seq} was "
            f"changed and re-hashed, or entries before seq {cur.seq} were deleted and the rest "
            f"renumbered",
        )
    return None
