"""Portal forms: small, validated, no business logic (the services have the last word)."""

from .access import ConnectionForm, GrantRequestForm
from .agents import (
    AgentRegisterForm,
    DecommissionForm,
    ReasonForm,
    VersionForm,
)
from .credentials import CredentialIssueForm, CredentialRevokeForm, CredentialRotateForm

__all__ = [
    "AgentRegisterForm",
    "ConnectionForm",
    "CredentialIssueForm",
    "CredentialRevokeForm",
    "CredentialRotateForm",
    "DecommissionForm",
    "GrantRequestForm",
    "ReasonForm",
    "VersionForm",
]
