"""Errors of the decision point, each mapping to one HTTP answer."""

from __future__ import annotations


class DecisionInputError(Exception):
    """Bad input (400): nothing is counted and nothing is audited."""

    status = 400

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


class DecisionForbidden(DecisionInputError):
    """The calling resource server asks about a resource that is not its own (403)."""

    status = 403


class DecisionUnavailable(DecisionInputError):
    """The shared counters cannot be reached: fail closed (503), count and allow nothing."""

    status = 503


class CallerUnverified(Exception):
    """A decision for a caller authenticated from the cache could not be tied to the epoch of
    that authentication: the view authenticates the caller again, for real, and retries."""
