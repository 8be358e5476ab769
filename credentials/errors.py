"""Errors of the credential service, each mapping to one RFC 6749 §5.2 error code."""

from __future__ import annotations


class CredentialError(Exception):
    """A management request (issue, revoke, rotate) the credential service refuses."""


class CredentialForbidden(CredentialError):
    """The person asking may not do this to this credential (an API answers 403)."""


class OAuthError(Exception):
    """An OAuth 2.0 error response: ``error`` code, description, HTTP status."""

    status = 400
    # What the audit entry of a refusal names, when more precise than ``error``.
    reason = ""

    def __init__(self, error: str, description: str = "", *, status: int | None = None) -> None:
        super().__init__(description or error)
        self.error = error
        self.description = description
        if status is not None:
            self.status = status

    @property
    def headers(self) -> dict[str, str]:
        return {}


class ClientAuthError(OAuthError):
    """Client authentication failed: ``invalid_client``, 401 with a Basic challenge."""

    status = 401

    def __init__(self, description: str = "client authentication failed") -> None:
        super().__init__("invalid_client", description)

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="oauth", charset="UTF-8"'}


class ClientThrottled(OAuthError):
    """Too many failed authentications from this client or address: try later."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("invalid_client", "too many failed authentication attempts; retry later")
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
