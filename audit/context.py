"""Per-request context (request id, source address, acting user) that ``record()`` picks up."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    source_ip: str | None = None
    actor: str = ""
    # Resolves the acting principal lazily (the user is authenticated after the middleware
    # runs, by the session or by DRF), so requests that audit nothing pay no query for it.
    actor_resolver: Callable[[], str] | None = None


_EMPTY = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "audit_request_context", default=None
)


def current() -> RequestContext:
    return _current.get() or _EMPTY


def current_actor(default: str = "system") -> str:
    """The principal acting in this request (``user:<name>``), else ``default``."""
    ctx = current()
    if ctx.actor:
        return ctx.actor
    if ctx.actor_resolver is not None:
        return ctx.actor_resolver() or default
    return default


def bind(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


_service_records: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "audit_service_records", default=False
)


@contextlib.contextmanager
def recorded_by_service() -> Iterator[None]:
    """Within this block the calling service writes the audit entry of the change itself, so
    the signal audit of third-party models (``auth_changes``) stays quiet: one change, one
    entry, naming the service's actor."""
    token = _service_records.set(True)
    try:
        yield
    finally:
        _service_records.reset(token)


def service_records() -> bool:
    """True inside ``recorded_by_service``."""
    return _service_records.get()
