"""The offline verifier of an audit export; stdlib and PyJWT only, no Django.

    python -m audit.verifier export.jsonl --jwks jwks.json \
        [--anchor SEQ:HASH]... [--checkpoints FILE]... [--witness FILE|URL] [--max-age S]

It needs only an export (``manage.py audit export``) and the platform's public JWKS; the
trusted references (``audit.references``) are what lets it tell the chain that was signed from
a consistent rewrite. ``manage.py audit verify`` runs the same walk straight from the database.
The canonical encoding is in ``audit.canonical``; this module re-exports the names the rest of
the project imports from here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from . import references as refs_module
from .canonical import (
    CANONICAL_VERSION,
    CHECKPOINT_TYP,
    EXPORT_FORMAT,
    FIELDS,
    GENESIS,
    _encode,  # noqa: F401  (tests compare the fast encoder with the specification's)
    canonical,
    entry_hash,
    format_time,
)
from .report import (
    MAX_PROBLEMS,
    Checkpoint,
    Link,
    Problem,
    Reference,
    Report,
    Witnessed,
    check_policy,
)
from .signatures import (
    SignatureError,
    checkpoint_claims,
    checkpoint_from_claims,
    jws_header,
)
from .walk import walk

__all__ = [
    "CANONICAL_VERSION",
    "CHECKPOINT_TYP",
    "DEFAULT_MAX_AGE",
    "EXPORT_FORMAT",
    "FIELDS",
    "GENESIS",
    "MAX_PROBLEMS",
    "Checkpoint",
    "Link",
    "Problem",
    "Reference",
    "Report",
    "SignatureError",
    "Witnessed",
    "canonical",
    "checkpoint_claims",
    "checkpoint_from_claims",
    "entry_hash",
    "format_time",
    "jws_header",
    "link_from_record",
    "verify_export",
    "walk",
]

# The checkpoint policy's default (settings.AUDIT_CHECKPOINT_MAX_AGE): seconds.
DEFAULT_MAX_AGE = 600


def _iter_records(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {number}: not JSON ({exc.msg})") from exc


def link_from_record(record: Mapping[str, Any]) -> Link:
    return Link(
        seq=int(record["seq"]),
        id=int(record["id"]),
        prev_hash=str(record["prev_hash"]),
        hash=str(record["hash"]),
        values=tuple(record.get(name) for name in FIELDS),
    )


def _header(path: str) -> dict[str, Any]:
    for record in _iter_records(path):
        return record if record.get("type") == "header" else {}
    return {}


def verify_export(
    path: str,
    jwks: Mapping[str, Any],
    *,
    references: list[Reference] | None = None,
    witness: Witnessed | None = None,
    max_age: float | None = None,
    now: dt.datetime | None = None,
    report: Report | None = None,
) -> Report:
    """Verify an export file: every entry's hash and link, every checkpoint's signature, the
    trusted references; with ``max_age``, the checkpoint policy as of ``now`` (default: when the
    export was written), if the export reaches the head of the chain."""
    report = report or Report()

    def items() -> Iterator[Link | Checkpoint]:
        for record in _iter_records(path):
            kind = record.get("type")
            if kind == "entry":
                yield link_from_record(record)
            elif kind == "checkpoint":
                try:
                    claims = checkpoint_claims(str(record.get("jws", "")), jwks)
                except SignatureError as exc:
                    report.add("checkpoint", record.get("seq"), f"checkpoint {exc}")
                    continue
                yield checkpoint_from_claims(claims)
            elif kind == "header" and record.get("format") != EXPORT_FORMAT:
                raise ValueError(f"not an {EXPORT_FORMAT} file")

    header = _header(path)

    def find_seq_by_hash(wanted: str) -> int | None:
        # Only at a break: a second pass over the file keeps memory flat.
        for record in _iter_records(path):
            if record.get("type") == "entry" and record.get("hash") == wanted:
                return int(record["seq"])
        return None

    walk(
        items(),
        references=references or (),
        witness=witness,
        find_seq_by_hash=find_seq_by_hash,
        report=report,
        range_start=header.get("from_seq"),
        range_end=header.get("to_seq"),
    )
    if max_age:
        if header.get("to_seq") is not None:
            report.warnings.append(
                "this export ends before the head: the checkpoint policy is not checked"
            )
        else:
            at = now or _parse_time(header.get("exported_at"))
            if at is None:
                raise ValueError("the export does not say when it was written: give --at")
            check_policy(report, now=at.timestamp(), max_age=max_age, witness=witness)
    return report


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m audit.verifier",
        description="Verify an audit export offline against the platform's public JWKS.",
    )
    parser.add_argument("export", help="JSON Lines written by `manage.py audit export`")
    parser.add_argument("--jwks", required=True, help="the public JWKS (JSON file)")
    refs_module.add_arguments(parser)
    parser.add_argument(
        "--max-age",
        type=float,
        default=DEFAULT_MAX_AGE,
        help="policy: the newest checkpoint at most this many seconds old (0: not checked)",
    )
    parser.add_argument("--at", help="check the policy as of this ISO time (default: the export's)")
    args = parser.parse_args(argv)
    try:
        with open(args.jwks, encoding="utf-8") as handle:
            jwks = json.load(handle)
        report = Report()
        references, witness = refs_module.gather(
            jwks,
            report,
            anchors=args.anchor,
            checkpoint_files=args.checkpoints,
            witness=args.witness,
        )
        report = verify_export(
            args.export,
            jwks,
            references=references,
            witness=witness,
            max_age=args.max_age,
            now=_parse_time(args.at),
            report=report,
        )
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
