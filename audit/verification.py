"""``manage.py audit verify``: the offline verifier's walk, fed straight from the database."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.db import connection

from . import chain
from .models import AuditCheckpoint
from .report import (
    Checkpoint,
    Reference,
    Report,
    Witnessed,
    check_policy,
    unsigned_warning,
)
from .signatures import SignatureError, checkpoint_claims, checkpoint_from_claims
from .walk import interleave, walk


def checkpoints_in_order(
    report: Report, jwks: Mapping[str, Any] | None, *, queryset=None
) -> Iterator[Checkpoint]:
    """Checkpoints by ``seq``; with a JWKS only what the signature states is believed."""
    rows = (queryset if queryset is not None else AuditCheckpoint.objects.all()).order_by(
        "seq", "id"
    )
    for row in rows.iterator(chunk_size=2000):
        if jwks is None:
            yield Checkpoint(seq=row.seq, hash=row.hash, kind=row.kind)
            continue
        try:
            claims = checkpoint_claims(row.jws, jwks)
        except SignatureError as exc:
            report.add("checkpoint", row.seq, f"checkpoint {row.pk} at seq {row.seq}: {exc}")
            continue
        signed = checkpoint_from_claims(claims)
        if (signed.seq, signed.hash, signed.kind) != (row.seq, row.hash, row.kind):
            report.add(
                "checkpoint",
                row.seq,
                f"checkpoint {row.pk}: its columns differ from what its signature states",
            )
        yield signed


def find_seq_by_hash(wanted: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq FROM {chain.ENTRY_TABLE} WHERE hash = %s AND seq IS NOT NULL",  # noqa: S608
            [wanted],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def verify_database(
    *,
    jwks: Mapping[str, Any] | None,
    workers: int = 1,
    min_parallel: int = 200_000,
    references: Sequence[Reference] = (),
    witness: Witnessed | None = None,
    max_age: float | None = None,
    now: dt.datetime | None = None,
    report: Report | None = None,
) -> Report:
    """Walk the whole chain and every checkpoint against the trusted references; constant memory.

    With ``max_age`` (seconds) the checkpoint policy is checked as of ``now``: a checkpoint no
    older than that, and (with a ``witness``) every checkpoint in the witness.

    With ``workers > 1`` on PostgreSQL (outside a transaction) a long chain is first checked in
    parallel seq ranges by separate processes, each with its own connection, and the range
    boundaries are stitched together. Only if that finds nothing wrong is its result returned;
    any problem reruns the single sequential walk, whose messages name the kind of break.
    """
    result = None
    if (
        workers > 1
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and not (report and report.problems)
    ):
        result = _verify_parallel(
            jwks=jwks,
            workers=workers,
            min_entries=min_parallel,
            references=references,
            witness=witness,
        )
    if result is None:
        result = _verify_sequential(
            jwks=jwks, references=references, witness=witness, report=report
        )
    if max_age:
        at = (now or dt.datetime.now(dt.UTC)).timestamp()
        check_policy(result, now=at, max_age=max_age, witness=witness)
    return result


def _verify_sequential(
    *,
    jwks: Mapping[str, Any] | None,
    references: Sequence[Reference],
    witness: Witnessed | None,
    report: Report | None,
) -> Report:
    report = report or Report()
    with chain.read_transaction():
        links = (link for link, _row in chain.iter_links())
        items = interleave(links, checkpoints_in_order(report, jwks))
        walk(
            items,
            references=references,
            witness=witness,
            find_seq_by_hash=find_seq_by_hash,
            report=report,
        )
    return _with_closing_warnings(report, jwks)


def _with_closing_warnings(report: Report, jwks: Mapping[str, Any] | None) -> Report:
    """What a whole walk, sequential or parallel, adds at the end: what it could not check."""
    if jwks is None:
        report.warnings.append("checkpoint signatures were not checked (no JWKS)")
    waiting = chain.unsequenced_count()
    if waiting:
        report.warnings.append(f"{waiting} entries are not chained yet (the sequencer is behind)")
    return report


def _bounds() -> tuple[int | None, int | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(seq), MAX(seq) FROM {chain.ENTRY_TABLE} WHERE seq IS NOT NULL"  # noqa: S608
        )
        return cursor.fetchone()


def verify_range_here(
    *,
    jwks: Mapping[str, Any] | None,
    lo: int,
    hi: int,
    first: bool,
    last: bool = False,
    references: Sequence[Reference] = (),
    witness: Witnessed | None = None,
) -> dict[str, Any]:
    """Walk ``[lo, hi]`` on this process's connection (one worker of the parallel pass)."""
    report = Report()
    mine = [r for r in references if (first or r.seq >= lo) and (last or r.seq <= hi)]
    with chain.read_transaction():
        cps = AuditCheckpoint.objects.filter(seq__lte=hi)
        cps = cps if first else cps.filter(seq__gte=lo)
        links = (link for link, _row in chain.iter_links(from_seq=lo, to_seq=hi))
        items = interleave(links, checkpoints_in_order(report, jwks, queryset=cps))
        walk(
            items,
            references=mine,
            witness=witness,
            report=report,
            range_start=None if first else lo,
        )
    fields = (
        "ok entries checkpoints references first_seq last_seq last_hash last_signed_seq "
        "last_signed_iat anchored_seq unsigned_from unsigned_since unwitnessed "
        "unwitnessed_oldest_iat"
    )
    out = {name: getattr(report, name) for name in fields.split()}
    out["first_prev_hash"] = _prev_hash_of(report.first_seq)
    return out


def _prev_hash_of(seq: int | None) -> str | None:
    if seq is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT prev_hash FROM {chain.ENTRY_TABLE} WHERE seq = %s",  # noqa: S608
            [seq],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _verify_parallel(
    *,
    jwks: Mapping[str, Any] | None,
    workers: int,
    min_entries: int,
    references: Sequence[Reference],
    witness: Witnessed | None,
) -> Report | None:
    import multiprocessing
    import os

    lo, hi = _bounds()
    if lo is None or hi - lo + 1 < min_entries:
        return None
    step = (hi - lo + 1) // workers + 1
    ranges = [(a, min(a + step - 1, hi)) for a in range(lo, hi + 1, step)]
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "governance.settings")
    name = connection.settings_dict["NAME"]
    jobs = [
        (
            settings_module,
            name,
            jwks,
            a,
            b,
            index == 0,
            index == len(ranges) - 1,
            references,
            witness,
        )
        for index, (a, b) in enumerate(ranges)
    ]
    from .parallel import verify_range

    try:
        with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
            # Bounded: a worker that dies must not hang the verifier; the walk then runs alone.
            timeout = max(120.0, (hi - lo) / 2000)
            parts = pool.map_async(verify_range, jobs).get(timeout=timeout)
    except Exception:
        return None
    if not all(part["ok"] for part in parts):
        return None
    for before, after in itertools.pairwise(parts):
        if after["first_seq"] != before["last_seq"] + 1:
            return None
        if after["first_prev_hash"] != before["last_hash"]:
            return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {chain.CHECKPOINT_TABLE} WHERE seq > %s",  # noqa: S608
            [parts[-1]["last_seq"]],
        )
        if cursor.fetchone()[0]:
            return None  # a checkpoint past the last entry: let the full walk name it
    return _stitched(parts, jwks)


def _stitched(parts: list[dict[str, Any]], jwks: Mapping[str, Any] | None) -> Report:
    """One report from the parallel pass's parts (each a clean walk of its seq range)."""
    report = Report(
        entries=sum(p["entries"] for p in parts),
        checkpoints=sum(p["checkpoints"] for p in parts),
        references=sum(p["references"] for p in parts),
        unwitnessed=sum(p["unwitnessed"] for p in parts),
        first_seq=parts[0]["first_seq"],
        last_seq=parts[-1]["last_seq"],
        last_hash=parts[-1]["last_hash"],
        workers=len(parts),
    )
    for name, pick in (
        ("last_signed_seq", max),
        ("last_signed_iat", max),
        ("anchored_seq", max),
        ("unwitnessed_oldest_iat", min),
    ):
        values = [p[name] for p in parts if p[name] is not None]
        setattr(report, name, pick(values) if values else None)
    # The oldest unsigned entry: after the last part with a checkpoint, else from the start.
    for part in parts:
        if part["last_signed_seq"] is not None or report.unsigned_from is None:
            report.unsigned_from, report.unsigned_since = (
                part["unsigned_from"],
                part["unsigned_since"],
            )
    warning = unsigned_warning(report)
    if warning:
        report.warnings.append(warning)
    return _with_closing_warnings(report, jwks)
