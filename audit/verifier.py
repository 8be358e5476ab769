"""The audit chain's canonical encoding and its verifier; stdlib and PyJWT only, no Django.

Run offline as ``python -m audit.verifier export.jsonl --jwks jwks.json``: it needs only an export
(``manage.py audit export``) and the platform's public JWKS. ``manage.py audit verify`` runs the
same walk straight from the database.

Canonical encoding of an entry (``audit-entry/v1``): the UTF-8 bytes of the JSON array

    ["audit-entry/v1", id, created_at, actor, actor_id, on_behalf_of, action, outcome, reason,
     resource, target_type, target_id, workflow_run, token_jti, credential_id, request_id,
     source_ip, changes, context]

serialised with object keys sorted, no whitespace (``,`` and ``:`` separators), non-ASCII
characters written as themselves, NaN/Infinity refused. ``created_at`` is UTC as
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fractional digits); ``id`` is an integer;
``source_ip`` is a string or ``null``. ``hash = SHA-256(canonical ‖ prev_hash)`` where
``prev_hash`` is appended as its 32 raw bytes; the first entry's ``prev_hash`` is 64 zeros.

``seq`` is deliberately not hashed: an entry's position is fixed by ``prev_hash`` and by the
signed checkpoints (seq, hash), which lets the walk tell a reordered entry from a changed one.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

CANONICAL_VERSION = "audit-entry/v1"
EXPORT_FORMAT = "audit-export/v1"
CHECKPOINT_TYP = "audit-checkpoint+jwt"
GENESIS = "0" * 64
FIELDS = (
    "id",
    "created_at",
    "actor",
    "actor_id",
    "on_behalf_of",
    "action",
    "outcome",
    "reason",
    "resource",
    "target_type",
    "target_id",
    "workflow_run",
    "token_jti",
    "credential_id",
    "request_id",
    "source_ip",
    "changes",
    "context",
)
MAX_PROBLEMS = 100

_encoder = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
_encode = _encoder.encode


def _fast_encoder() -> Callable[[Any], str] | None:
    """The C encoder ``_encoder.encode`` ends up in, built once instead of per call.

    ``JSONEncoder.encode`` builds a new C encoder object for every call, which was a third of
    the encoding time. This is the same C function with the same settings, so the bytes are the
    same; the circular-reference check is off (values come from JSON or the database and cannot
    be circular). Used only if it reproduces ``_encode`` exactly on a sample, else ``None``.
    """
    from json import encoder as json_encoder

    make = getattr(json_encoder, "c_make_encoder", None)
    basestring = getattr(json_encoder, "c_encode_basestring", None)
    if make is None or basestring is None:
        return None

    def default(value: Any) -> Any:
        raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")

    try:
        chunks = make(None, default, basestring, None, ":", ",", True, False, False)
    except TypeError:  # a Python whose C encoder takes other arguments
        return None
    join = "".join

    def encode(value: Any) -> str:
        return join(chunks(value, 0))

    sample = (
        CANONICAL_VERSION,
        7,
        'é\u2028"\\\n\x00😀',
        None,
        True,
        [1.5, -0.0, 10**20, {"b": [], "a": {"z": 1, "é": "x", "A": None}}],
        {},
    )
    if encode(sample) != _encode(sample):
        return None
    try:
        encode((float("nan"),))
    except ValueError:  # NaN refused, like allow_nan=False
        return encode
    return None


_encode = _fast_encoder() or _encode


def format_time(value: dt.datetime) -> str:
    """The canonical UTC form of a timestamp."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(values: Iterable[Any]) -> bytes:
    """Canonical bytes of an entry given its field values in ``FIELDS`` order."""
    return _encode((CANONICAL_VERSION, *values)).encode()


_sha256 = hashlib.sha256
_fromhex = bytes.fromhex


def entry_hash(values: tuple, prev_hash: str) -> str:
    """``SHA-256(canonical(entry) ‖ prev_hash)`` as lowercase hex."""
    return _sha256(_encode((CANONICAL_VERSION, *values)).encode() + _fromhex(prev_hash)).hexdigest()


# ---------------------------------------------------------------------------------------------
# The walk


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


@dataclass
class Problem:
    kind: str  # changed | deleted | inserted | reordered | broken | checkpoint | anchor
    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.kind.upper()}: {self.message}"


@dataclass
class Report:
    entries: int = 0
    checkpoints: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str = ""
    last_signed_seq: int | None = None
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
        span = f"seq {self.first_seq}..{self.last_seq}" if self.entries else "no entries"
        verdict = "OK" if self.ok else f"FAILED ({len(self.problems)} problem(s))"
        out.append(
            f"{verdict}: {self.entries} entries ({span}), {self.checkpoints} checkpoint(s) verified"
        )
        return out


def _windows(
    items: Iterable[Link | Checkpoint],
) -> Iterator[tuple[Link | None, tuple[Checkpoint, ...], Link | None]]:
    """``(entry, checkpoints that follow it, next entry)``; leading checkpoints come with ``None``.

    One generator (not two stacked ones) and no list per entry: it runs once per entry.
    """
    cur: Link | None = None
    after: tuple[Checkpoint, ...] = ()
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


def walk(
    items: Iterable[Link | Checkpoint],
    *,
    find_seq_by_hash: Callable[[str], int | None] | None = None,
    report: Report | None = None,
    range_start: int | None = None,
) -> Report:
    """Verify entries and checkpoints streamed in ``seq`` order (a checkpoint after its entry).

    Memory stays constant: the walk holds the previous two entries and one entry of look-ahead.
    ``find_seq_by_hash`` (optional) is asked only at a break, to recognise an entry moved far.
    Each tampering is reported once: the links and signed hashes that it breaks as a
    consequence (the entry after a swapped pair, a checkpoint whose entry an insertion moved
    one seq on) are recognised as such and not reported again.
    """
    report = report or Report()
    archive: Checkpoint | None = None
    prev: Link | None = None
    prev2_hash: str | None = None
    # seq -> why the link into it is already explained ("swap": the second of a swapped pair,
    # "inserted": the entry after an inserted one).
    explained: dict[int, str] = {}
    relaxed_link: str | None = None  # after a swap, the hash the next entry should link to
    shifted = False  # an insertion, swap or renumbering was reported: entries moved
    tail_reported = False

    for cur, checkpoints, nxt in _windows(items):
        if cur is not None:
            report.entries += 1
            if report.first_seq is None:
                report.first_seq = cur.seq
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
                shifted = True
                relaxed_link = None
            else:
                if (
                    prev is None
                    and range_start is not None
                    and cur.seq == range_start > 1
                    and (archive is None or archive.seq != cur.seq - 1)
                ):
                    report.warnings.append(
                        f"this export starts at seq {cur.seq}; what precedes it is not in the "
                        f"file (entries up to each signed checkpoint are still proven by it)"
                    )
                elif prev is None:
                    _check_anchor(report, cur, archive)
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
                    shifted = shifted or len(report.problems) > before
                if entry_hash(cur.values, cur.prev_hash) != cur.hash:
                    report.add(
                        "changed",
                        cur.seq,
                        f"entry seq {cur.seq} (id {cur.id}) was changed: its content no longer "
                        f"matches its hash",
                    )
            prev2_hash, prev = (prev.hash if prev else None), cur
            report.last_seq, report.last_hash = cur.seq, cur.hash

        for cp in checkpoints:
            report.checkpoints += 1
            if cp.kind == "archive" and (archive is None or cp.seq >= archive.seq):
                archive = cp
            if prev is None:
                continue  # signs the head of a range archived (or left out of this export)
            if cp.seq == prev.seq:
                report.last_signed_seq = cp.seq
                moved = shifted and cp.hash in (prev2_hash, nxt.hash if nxt else None)
                if cp.hash != prev.hash and not moved:
                    report.add(
                        "checkpoint",
                        cp.seq,
                        f"signed checkpoint at seq {cp.seq} has hash {cp.hash[:16]}…, the entry "
                        f"there has {prev.hash[:16]}…: the chain was rewritten up to seq {cp.seq}",
                    )
            elif cp.seq > prev.seq:
                # Before the next entry it names one of a gap, reported as deleted there.
                if nxt is None and not tail_reported:
                    tail_reported = True
                    report.add(
                        "deleted",
                        prev.seq + 1,
                        f"the chain ends at seq {prev.seq}, but a signed checkpoint names seq "
                        f"{cp.seq}: entries after seq {prev.seq} were deleted",
                    )
            else:
                report.add("reordered", cp.seq, f"checkpoint at seq {cp.seq} is out of order")

    if report.entries and report.last_signed_seq != report.last_seq:
        since = report.last_signed_seq
        report.warnings.append(
            f"entries after seq {since} are chained but not yet covered by a signed checkpoint"
            if since is not None
            else "no signed checkpoint covers these entries: they are checked only as a chain"
        )
    return report


def _check_anchor(report: Report, cur: Link, archive: Checkpoint | None) -> None:
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


# ---------------------------------------------------------------------------------------------
# Signatures


def _b64json(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jws_header(token: str) -> dict[str, Any]:
    """The unverified protected header of a compact JWS."""
    return _b64json(token.split(".", 1)[0])


def _algorithm_of(jwk: Mapping[str, Any]) -> str:
    if jwk.get("alg"):
        return str(jwk["alg"])
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        return "ES256"
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return "EdDSA"
    raise ValueError(f"key {jwk.get('kid')!r}: cannot tell its algorithm")


class SignatureError(Exception):
    """A checkpoint whose JWS does not verify against the JWKS."""


def checkpoint_claims(token: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """Verify a checkpoint JWS against the JWKS (algorithm pinned by the key) and return claims."""
    import jwt  # PyJWT, with cryptography for the algorithms

    try:
        header = jws_header(token)
    except (ValueError, IndexError) as exc:
        raise SignatureError("malformed JWS") from exc
    kid = header.get("kid")
    key = next((k for k in jwks.get("keys", []) if k.get("kid") == kid), None)
    if key is None:
        raise SignatureError(f"no key {kid!r} in the JWKS")
    if header.get("typ") not in (None, CHECKPOINT_TYP):
        raise SignatureError(f"JWS type {header.get('typ')!r} is not {CHECKPOINT_TYP}")
    algorithm = _algorithm_of(key)
    if header.get("alg") != algorithm:
        raise SignatureError(f"JWS algorithm {header.get('alg')!r} is not the key's {algorithm}")
    try:
        public = jwt.PyJWK(dict(key), algorithm=algorithm).key
        claims = jwt.decode(
            token,
            public,
            algorithms=[algorithm],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise SignatureError(f"signature does not verify ({exc})") from exc
    if not isinstance(claims.get("seq"), int) or not isinstance(claims.get("hash"), str):
        raise SignatureError("claims lack seq and hash")
    return claims


def checkpoint_from_claims(claims: Mapping[str, Any]) -> Checkpoint:
    kind = str(claims.get("kind", "periodic"))
    return Checkpoint(
        seq=int(claims["seq"]),
        hash=str(claims["hash"]),
        kind=kind,
        archived_through=claims.get("archived_through"),
    )


# ---------------------------------------------------------------------------------------------
# The export file


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


def verify_export(path: str, jwks: Mapping[str, Any]) -> Report:
    """Verify an export file: every entry's hash and link, every checkpoint's signature."""
    report = Report()

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

    range_start = None
    for record in _iter_records(path):
        if record.get("type") == "header":
            range_start = record.get("from_seq")
        break

    def find_seq_by_hash(wanted: str) -> int | None:
        # Only at a break: a second pass over the file keeps memory flat.
        for record in _iter_records(path):
            if record.get("type") == "entry" and record.get("hash") == wanted:
                return int(record["seq"])
        return None

    return walk(items(), find_seq_by_hash=find_seq_by_hash, report=report, range_start=range_start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m audit.verifier",
        description="Verify an audit export offline against the platform's public JWKS.",
    )
    parser.add_argument("export", help="JSON Lines written by `manage.py audit export`")
    parser.add_argument("--jwks", required=True, help="the public JWKS (JSON file)")
    args = parser.parse_args(argv)
    try:
        with open(args.jwks, encoding="utf-8") as handle:
            jwks = json.load(handle)
        report = verify_export(args.export, jwks)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
