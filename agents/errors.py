"""Domain errors of the registry."""


class RegistryError(Exception):
    """Base class: a request the registry refuses, with a message fit for the caller."""

    # The HTTP status an API answers with: bad input by default, 409 for a state conflict.
    http_status = 400


class InvalidTransition(RegistryError):
    """A lifecycle change that the current state does not allow."""

    http_status = 409


class GrantError(RegistryError):
    """A scope grant or revocation that cannot be made."""


class GrantStateError(GrantError, InvalidTransition):
    """A grant change its current state does not allow (revoking a revoked grant)."""

    http_status = 409


class TokenError(RegistryError):
    """A personal API token that cannot be made or used."""


class ReviewForbidden(RegistryError):
    """A review the acting person may not make (separation of duties, or no right at all)."""

    http_status = 403


class GrantForbidden(GrantError):
    """A grant the caller may not make: not their agent, or a scope that needs a request."""

    http_status = 403
