"""The audit chain's canonical encoding and hash (``audit-entry/v1``); stdlib only, no Django.

Canonical encoding of an entry: the UTF-8 bytes of the JSON array

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

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

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
