"""Errors of grant requests; they are registry errors, so every API maps them the same way."""

from agents.errors import GrantError, GrantForbidden


class GrantRequestError(GrantError):
    """A request that cannot be opened or decided in its current state (400)."""


class GrantRequestForbidden(GrantForbidden):
    """Someone who may not open or decide this request (403)."""
