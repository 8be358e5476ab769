"""Domain errors of the registry."""


class RegistryError(Exception):
    """Base class: a request the registry refuses, with a message fit for the caller."""


class InvalidTransition(RegistryError):
    """A lifecycle change that the current state does not allow."""


class GrantError(RegistryError):
    """A scope grant or revocation that cannot be made."""
