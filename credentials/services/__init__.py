"""Every state change of the credential service, each one transaction with its audit entry."""

from .access_tokens import IssuedToken, token_issue, token_refuse
from .credentials import (
    IssuedCredential,
    credential_issue,
    credential_restore,
    credential_revoke,
    credential_revoke_all,
    credential_rotate,
    credential_suspend,
)
from .exchange import TOKEN_TYPE_ACCESS, token_exchange
from .introspection import token_introspect
from .keys import signing_key_bootstrap, signing_keys_rewrap, signing_keys_rotate
from .revocation import token_revoke, tokens_cleanup
from .sweeps import credentials_expire_due, credentials_flag_due

__all__ = [
    "TOKEN_TYPE_ACCESS",
    "IssuedCredential",
    "IssuedToken",
    "credential_issue",
    "credential_restore",
    "credential_revoke",
    "credential_revoke_all",
    "credential_rotate",
    "credential_suspend",
    "credentials_expire_due",
    "credentials_flag_due",
    "signing_key_bootstrap",
    "signing_keys_rewrap",
    "signing_keys_rotate",
    "token_exchange",
    "token_introspect",
    "token_issue",
    "token_refuse",
    "token_revoke",
    "tokens_cleanup",
]
