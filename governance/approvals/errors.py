"""Errors of the approvals app."""


class ApprovalError(Exception):
    """A decision on an approval request that cannot be made (already decided, expired)."""


class ApprovalForbidden(ApprovalError):
    """The user may not decide this request."""
