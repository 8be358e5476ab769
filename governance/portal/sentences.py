"""An audit entry about an agent as a sentence a person reads: "dan suspended it: odd traffic".

Only the agent's own history is phrased here (the agent page's timeline); the audit search
page shows the raw entries. An action without a phrase falls back to its name, never hidden.
"""

from __future__ import annotations

from typing import Any

from audit.models import AuditEntry


def _who(principal: str) -> str:
    kind, _, name = principal.partition(":")
    if kind == "user":
        return name
    if principal == "system":
        return "The platform"
    return principal


def _change(entry: AuditEntry, key: str, default: str = "") -> Any:
    """A value of the entry's changes; for a ``[before, after]`` pair, the after."""
    value = (entry.changes or {}).get(key, default)
    if isinstance(value, list) and len(value) == 2 and key in ("status", "trust_level"):
        return value[1]
    return value


def _trust(entry: AuditEntry) -> str:
    level, score = _change(entry, "trust_level"), _change(entry, "trust_score")
    if isinstance(score, list) and len(score) == 2:
        score = score[1]
    if not level:
        return "set its trust level"
    return f"set its trust to {level}" + (f" (score {score})" if score != "" else "")


PHRASES = {
    "agent.register": lambda e: "registered the agent",
    "agent.update": lambda e: f"changed its {', '.join(sorted(e.changes or {})) or 'details'}",
    "agent.suspend": lambda e: "suspended it",
    "agent.reactivate": lambda e: "reactivated it",
    "agent.decommission": lambda e: "decommissioned it",
    "agent.version.add": lambda e: f"added version {_change(e, 'label')}",
    "agent.version.review": lambda e: "marked a version reviewed",
    "grant.create": lambda e: f"granted {_change(e, 'scope')}",
    "grant.revoke": lambda e: f"revoked {_change(e, 'scope')}",
    "grant.expire": lambda e: f"ended {_change(e, 'scope')}, which had expired",
    "connection.create": lambda e: f"connected it to {_change(e, 'resource')}",
    "connection.update": lambda e: (
        "changed a connection's "
        + (", ".join(k.replace("_", " ") for k in sorted(e.changes or {})) or "settings")
    ),
    "connection.delete": lambda e: f"removed its connection to {_change(e, 'resource')}",
    "credential.issue": lambda e: f"issued credential {e.credential_id}",
    "credential.rotate": lambda e: f"rotated credential {e.credential_id}",
    "credential.rotate.emergency": lambda e: (
        f"rotated credential {e.credential_id} in an emergency"
    ),
    "credential.revoke": lambda e: f"revoked credential {e.credential_id}",
    "credential.expire": lambda e: f"expired credential {e.credential_id}",
    "credential.rotation_due": lambda e: f"flagged credential {e.credential_id} for rotation",
    "trust.set": _trust,
    "token.issue": lambda e: "was issued an access token",
    "token.refuse": lambda e: "was refused a token",
    "decision": lambda e: f"was answered {e.outcome}",
}


def sentence(entry: AuditEntry, *, subject: str = "") -> str:
    """``"dan suspended it: odd traffic at night."``; ``subject`` (the agent) reads "It"."""
    phrase = PHRASES.get(entry.action)
    what = phrase(entry) if phrase else f"recorded {entry.action}"
    text = f"{'It' if subject and entry.actor == subject else _who(entry.actor)} {what}"
    if entry.reason and entry.action not in ("grant.create",):
        text += f": {entry.reason.rstrip('.')}"
    elif entry.reason:
        text += f" ({entry.reason.rstrip('.')})"
    return text + "."
