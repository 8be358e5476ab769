"""The links between entries: where the chain starts, and each entry's link to the one before."""

from __future__ import annotations

from collections.abc import Callable

from ..canonical import GENESIS
from ..report import Checkpoint, Link, Report


def check_start(
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


def check_link(
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
