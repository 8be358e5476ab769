"""``Authorization: Bearer <access token>``: an agent polling its own approval requests."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from credentials.token_check import TokenCheck, check_access_token


@dataclass(frozen=True)
class AgentPrincipal:
    """The agent behind a valid access token; never a Django user, never in a permission check."""

    check: TokenCheck
    is_authenticated: bool = True
    is_active: bool = True
    is_superuser: bool = False

    @property
    def agent(self):
        return self.check.agent


class AgentTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates an agent's access token (JWT) through ``check_access_token``."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != b"bearer":
            return None
        raw = header[1].decode("ascii", errors="replace")
        if raw.count(".") != 2:
            return None  # not a JWT: a personal API token or nothing we know
        check = check_access_token(raw)
        if not check.active or check.agent is None:
            raise exceptions.AuthenticationFailed("The access token is not valid.")
        return AgentPrincipal(check=check), check

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api", error="invalid_token"'


class AgentTokenScheme(OpenApiAuthenticationExtension):
    """Documents the agent's bearer access token in ``/api/schema/``."""

    target_class = "governance.approvals.api.authentication.AgentTokenAuthentication"
    name = "agentAccessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (RFC 9068 access token)"}
