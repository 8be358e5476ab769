"""Audit of failed human sign-ins: every failure and every lock-out.

Throttling is django-axes' (settings ``AXES_*``): it counts failures per username and per address
and refuses further attempts during the cool-off. Neither Django's auth nor axes has a service
of ours to call ``record()``, so their signals are the seam, as in ``auth_changes.py``. A failed
entry here fails the sign-in (it raises), as everywhere in the log.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed

from .models import AuditEntry
from .services import record


def _username(credentials: dict[str, Any] | None) -> str:
    value = (credentials or {}).get("username") or ""
    return str(value)[:150]


def _failures(request) -> int:
    """The failures axes has counted for this attempt's account or address, this one included;
    0 if its receiver has not run yet (receivers run in the order they were connected)."""
    return int(getattr(request, "axes_failures_since_start", 0) or 0)


def _login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    # Refused unheard (locked already) or a wrong password? axes flags both the same way, but
    # the attempt that reaches the limit is the limit-th failure, and every refusal after it
    # counts beyond the limit; a refusal seen before axes counted it carries no count yet.
    failures = _failures(request)
    locked = bool(getattr(request, "axes_locked_out", False)) and (
        failures == 0 or failures > settings.AXES_FAILURE_LIMIT
    )
    username = _username(credentials)
    record(
        actor=f"user:{username}" if username else "anonymous",
        action="user.login",
        outcome=AuditEntry.Outcome.DENIED if locked else AuditEntry.Outcome.FAILURE,
        reason="locked_out" if locked else "wrong_credentials",
        resource=f"user:{username}" if username else "",
        target_type="user",
        context_data={"path": getattr(request, "path", "")},
    )


def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    if _failures(request) > settings.AXES_FAILURE_LIMIT:
        return  # axes says so again on every refused attempt: one entry per lock-out
    record(
        actor="system",
        action="user.lockout",
        outcome=AuditEntry.Outcome.DENIED,
        reason="too_many_failures",
        resource=f"user:{username}" if username else "",
        target_type="user",
        context_data={"ip_address": ip_address or "", "path": getattr(request, "path", "")},
    )


def connect() -> None:
    """The source address of each entry is the request's, from the audit context middleware."""
    user_login_failed.connect(_login_failed, dispatch_uid="audit.login_failed")
    user_locked_out.connect(_locked_out, dispatch_uid="audit.locked_out")
