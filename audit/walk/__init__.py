"""The walk over the chain: one pass, constant memory, each tampering named once; no Django.

Both verifiers feed it: ``manage.py audit verify`` from the database, ``python -m audit.verifier``
from an export. It takes entries and signed checkpoints in ``seq`` order and, optionally,
*references* trusted from outside the chain: anchors the operator saved (``seq:hash``) and
signed checkpoints from a file saved earlier or from the witness. What it can prove, and what
it cannot, is in docs/audit.md ("What the verifier proves").

The loop is here; ``stream`` feeds it, ``links`` checks how entries link, ``signed`` checks
signed checkpoints and trusted references where the walk meets them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ..canonical import entry_hash
from ..report import Checkpoint, Link, Reference, Report, Witnessed, unsigned_warning
from .links import check_link, check_start
from .signed import State, check_leading, checkpoint, reference
from .stream import interleave, windows

__all__ = ["interleave", "walk"]


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
    state = State()
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

    for cur, followers, nxt in windows(stream):
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
                    check_start(report, cur, state.archive, range_start)
                    if leading:
                        check_leading(report, leading, leading_keys, state, range_start)
                        leading = []
                else:
                    before = len(report.problems)
                    relaxed_link = check_link(
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
                if checkpoint(report, item, prev, prev2_hash, nxt, state, witness):
                    unsigned = None
                if prev is None:
                    leading_keys.add(item.key)
            elif prev is None:
                leading.append(item)
            else:
                reference(report, item, prev, prev2_hash, nxt, followers, state, range_end)

    if leading:  # no entry at all
        check_leading(report, leading, leading_keys, state, range_start, empty=True)
    if unsigned is not None:
        report.unsigned_from, report.unsigned_since = unsigned.seq, unsigned.values[1]
        report.warnings.append(unsigned_warning(report))
    return report
