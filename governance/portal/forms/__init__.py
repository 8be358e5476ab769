"""Portal forms: small, validated, no business logic (the services have the last word)."""

from .access import ConnectionForm, GrantRequestForm
from .agents import (
    AgentRegisterForm,
    ConfigurationReviewForm,
    DecommissionForm,
    ReasonForm,
    VersionForm,
)
from .credentials import CredentialIssueForm, CredentialRevokeForm, CredentialRotateForm

__all__ = [
    "AgentRegisterForm",
    "ConfigurationReviewForm",
    "ConnectionForm",
    "CredentialIssueForm",
    "CredentialRevokeForm",
    "CredentialRotateForm",
    "DecommissionForm",
    "GrantRequestForm",
    "ReasonForm",
    "VersionForm",
]
