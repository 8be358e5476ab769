"""What an audit entry never holds: values whose key names a secret are replaced on the way in,
and a NUL, which PostgreSQL cannot store, is written out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"


# A key naming one of these anywhere holds a secret; "token" and "assertion" only as the last
# word (``subject_token``, ``client_assertion``), so ``access_token_lifetime_seconds`` or
# ``assertion_jtis`` stay readable. Ids (``credential_id``) are never secrets.
_SECRET_ANYWHERE = ("secret", "password", "private", "pepper")
_SECRET_LAST_WORD = ("token", "assertion")


def _is_secret(key: str) -> bool:
    key = key.lower()
    if key.endswith("_id"):
        return False
    return any(marker in key for marker in _SECRET_ANYWHERE) or key.endswith(_SECRET_LAST_WORD)


# Key -> whether it names a secret. Entries reuse a handful of key names and this is on every
# write (a trust level change carries a breakdown of ~100 keys), so a plain dict rather than
# ``lru_cache``'s call; bounded, since a caller's mapping may bring keys of its own.
_SECRET_KEYS: dict[str, bool] = {}
_SECRET_KEYS_MAX = 4096


def _secret(key: str) -> bool:
    known = _SECRET_KEYS.get(key)
    if known is None:
        known = _is_secret(key)
        if len(_SECRET_KEYS) < _SECRET_KEYS_MAX:
            _SECRET_KEYS[key] = known
    return known


def redact(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` with anything that looks like a secret replaced, however deep: in
    nested mappings and in the mappings inside lists and tuples."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        kind = type(value)
        if _secret(key):
            out[key] = REDACTED
        elif kind is str:
            out[key] = storable(value)
        elif kind in _SCALARS:
            out[key] = value
        else:
            out[key] = _redact_value(value)
    return out


def _redact_value(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return redact(value)
    if kind is list or kind is tuple:
        return [_redact_value(item) for item in value]
    if isinstance(value, str):
        return storable(value)
    if not isinstance(value, _PLAIN) and isinstance(value, Mapping):  # the ABC check is slow
        return redact(value)
    if isinstance(value, (list, tuple)):
        return [_redact_value(item) for item in value]
    return value


def storable(text: str) -> str:
    """``text`` with any NUL written as ``\\x00``: a value presented by a caller may hold one,
    PostgreSQL refuses it in text and JSON, and an entry that cannot be written refuses the
    action it records (a 503 for a bad parameter)."""
    return text.replace("\x00", "\\x00") if "\x00" in text else text


_PLAIN = (str, int, float, list, tuple, type(None))  # never a Mapping
_SCALARS = frozenset((int, float, bool, type(None)))
