"""Every state change of the registry, each one transaction with its audit entry.

``lifecycle`` holds register/suspend/reactivate/decommission, versions and runs; ``grants``
who may grant which scope, expiry and revocation; ``registry`` the
create/edit services of teams, agents, workflows and policy; ``catalogue`` scopes and resources;
``connections`` connections; ``api_tokens`` the personal API tokens.
"""

from .api_tokens import api_token_authenticate, api_token_create, api_token_revoke
from .catalogue import resource_create, resource_update, scope_create, scope_update
from .connections import (
    connection_consent,
    connection_create,
    connection_delete,
    connection_update,
)
from .grants import grants_expire_due, scope_grant, scope_revoke
from .lifecycle import (
    agent_decommission,
    agent_reactivate,
    agent_register,
    agent_suspend,
    run_cancel,
    run_complete,
    run_start,
)
from .registry import (
    agent_update,
    policy_update,
    team_create,
    team_members_set,
    team_update,
    workflow_create,
    workflow_update,
)
from .versions import agent_version_add, agent_version_review, agent_version_settle

__all__ = [
    "agent_decommission",
    "agent_reactivate",
    "agent_register",
    "agent_suspend",
    "agent_update",
    "agent_version_add",
    "agent_version_review",
    "agent_version_settle",
    "api_token_authenticate",
    "api_token_create",
    "api_token_revoke",
    "connection_consent",
    "connection_create",
    "connection_delete",
    "connection_update",
    "grants_expire_due",
    "policy_update",
    "resource_create",
    "resource_update",
    "run_cancel",
    "run_complete",
    "run_start",
    "scope_create",
    "scope_grant",
    "scope_revoke",
    "scope_update",
    "team_create",
    "team_members_set",
    "team_update",
    "workflow_create",
    "workflow_update",
]
