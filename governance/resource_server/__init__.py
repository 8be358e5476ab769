"""Adopt the decision point from a Django resource server in a few lines.

The package depends only on Django, PyJWT and ``cryptography`` (no import of this project's
apps), so a resource server can vendor or install it on its own. See docs/decisions.md.

    # settings.py of the resource server
    AGENT_GOVERNANCE = {
        "ISSUER": "https://governance.example.com",
        "AUDIENCE": "https://ledger.example.com",      # this resource's audience URI
        "RESOURCE": "ledger",                           # this resource's slug
        "CLIENT_ID": "ledger",                          # its resource-server credential
        "CLIENT_SECRET": env("GOVERNANCE_CLIENT_SECRET"),
    }
    MIDDLEWARE += ["governance.resource_server.middleware.AgentGovernanceMiddleware"]
    # or, per DRF view: permission_classes = [AgentDecisionPermission]
"""

from .client import DecisionPointClient, GovernanceError
from .jwks import JWKSCache
from .verify import TokenRejected, verify_access_token

__all__ = [
    "DecisionPointClient",
    "GovernanceError",
    "JWKSCache",
    "TokenRejected",
    "verify_access_token",
]
