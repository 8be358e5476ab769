"""Trusted references from outside the chain: anchors, saved checkpoints, the witness; no Django.

A verifier that reads only the chain and its own checkpoint table proves the chain consistent,
not that it is the chain that was signed: whoever can write the database can delete the
checkpoints and present a rewritten chain. These are what it checks the chain against:

- ``--anchor SEQ:HASH``: a value the operator noted earlier (from ``audit verify`` or
  ``GET /api/v1/audit/checkpoints/latest``);
- ``--checkpoints FILE``: signed checkpoints saved earlier: the checkpoints API's JSON (a page,
  a list or one checkpoint), JSON Lines (an earlier export, a witness file), lines with a
  ``jws`` verified against the JWKS, lines with only ``seq`` and ``hash`` taken as anchors;
- ``--witness FILE|URL``: the append-only witness the checkpoint task writes every signed
  checkpoint to (JSON Lines; an HTTP witness serves them on GET). Besides the chain check, the
  walk then expects every checkpoint signed since the witness's first to be in it.
"""

from __future__ import annotations

import argparse
import json
import re
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from .report import Reference, Report, Witnessed
from .signatures import SignatureError, checkpoint_claims, checkpoint_from_claims

_HASH = re.compile(r"[0-9a-f]{64}")
READ_TIMEOUT = 30  # seconds, for a witness read over HTTP


def add_arguments(parser: argparse.ArgumentParser, *, witness_default: str = "") -> None:
    """``--anchor``, ``--checkpoints``, ``--witness``: the same in both verifiers' commands."""
    parser.add_argument(
        "--anchor", action="append", default=[], help="SEQ:HASH noted earlier (repeatable)"
    )
    parser.add_argument(
        "--checkpoints",
        action="append",
        default=[],
        help="signed checkpoints saved earlier: API JSON or JSON Lines (repeatable)",
    )
    parser.add_argument(
        "--witness",
        help=f"the witness: a JSON Lines file or its HTTP(S) URL{witness_default}",
    )


def parse_anchor(text: str) -> Reference:
    """``SEQ:HASH`` (a positive seq, 64 lowercase hex digits) as a trusted reference."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or int(seq) < 1 or not _HASH.fullmatch(digest):
        raise ValueError(f"an anchor is SEQ:HASH (64 hex digits), not {text!r}")
    return Reference(seq=int(seq), hash=digest, source=f"anchor {seq}:{digest[:12]}…")


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def read_text(location: str) -> str:
    """A file (a path or ``file://``) or an HTTP(S) resource, as text."""
    if is_url(location):
        request = urllib.request.Request(location, headers={"Accept": "application/jsonl"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=READ_TIMEOUT) as response:  # noqa: S310
            return response.read().decode("utf-8")
    path = location.removeprefix("file://")
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def records(text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(where, record)`` from JSON Lines, or JSON (a list, a DRF page, one object)."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    try:
        parsed = [(f"line {n}", json.loads(line)) for n, line in lines]
    except json.JSONDecodeError:
        try:
            parsed = [("", json.loads(text))]
        except json.JSONDecodeError as exc:
            raise ValueError(f"neither JSON Lines nor JSON ({exc.msg})") from exc
    for where, item in parsed:
        listed = item.get("results") if isinstance(item, dict) else item
        if isinstance(listed, list):
            for number, each in enumerate(listed, 1):
                if isinstance(each, dict):
                    yield f"{where + ', ' if where else ''}item {number}", each
        elif isinstance(item, dict):
            yield where or "item 1", item


def load(
    location: str,
    jwks: Mapping[str, Any],
    report: Report,
    *,
    source: str,
    kind: str = "anchor",
) -> list[Reference]:
    """The references in a checkpoints file or a witness; bad signatures become problems."""
    refs: list[Reference] = []
    for where, record in records(read_text(location)):
        if record.get("type") in ("header", "entry", "footer"):
            continue  # an export used as a file of checkpoints
        label = f"{source} ({where})"
        if record.get("jws"):
            try:
                claims = checkpoint_claims(str(record["jws"]), jwks)
            except SignatureError as exc:
                report.add(kind, record.get("seq"), f"{label}: checkpoint {exc}")
                continue
            signed = checkpoint_from_claims(claims)
            refs.append(Reference(signed.seq, signed.hash, label, signed=signed))
        elif isinstance(record.get("seq"), int) and _HASH.fullmatch(str(record.get("hash"))):
            refs.append(Reference(int(record["seq"]), str(record["hash"]), label))
        else:
            report.add(kind, None, f"{label}: neither a signed checkpoint nor seq and hash")
    return refs


def witnessed(refs: list[Reference]) -> Witnessed:
    """What a witness's references say it holds (for the "witness is current" check)."""
    signed = [r.signed for r in refs if r.signed is not None]
    iats = [cp.iat for cp in signed if cp.iat is not None]
    return Witnessed(keys=frozenset(cp.key for cp in signed), since=min(iats) if iats else None)


def unique(refs: list[Reference]) -> list[Reference]:
    """One reference per distinct claim (a witness written twice, a file and the witness)."""
    seen: set = set()
    out = []
    for ref in refs:
        key = (ref.seq, ref.hash, ref.signed.key if ref.signed else None)
        if key not in seen:
            seen.add(key)
            out.append(ref)
    return out


def gather(
    jwks: Mapping[str, Any],
    report: Report,
    *,
    anchors: list[str] = (),
    checkpoint_files: list[str] = (),
    witness: str | None = None,
) -> tuple[list[Reference], Witnessed | None]:
    """Every reference the command line names, and the witness's contents if one is given."""
    refs = [parse_anchor(a) for a in anchors]
    for path in checkpoint_files:
        refs += load(path, jwks, report, source=f"checkpoints file {path}")
    held = None
    if witness:
        from_witness = load(witness, jwks, report, source="witness", kind="witness")
        held = witnessed(from_witness)
        refs += from_witness
    return unique(refs), held
