"""Domain errors of the trust app."""


class TrustError(Exception):
    """A trust change the service refuses, with a message fit for the caller."""


class TrustForbidden(TrustError):
    """The caller may not make this trust change (only reviewers and admins pin levels)."""
