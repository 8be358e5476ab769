"""The walk's input: entries with what follows each, and references merged in ``seq`` order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..report import Link


def windows(
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
