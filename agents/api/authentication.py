"""``Authorization: Bearer gvp_…``: personal API tokens for scripts (DRF authentication)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..services.api_tokens import api_token_authenticate, is_api_token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates ``gvp_`` bearer tokens; returns None for any other bearer value (JWTs)."""

    keyword = "Bearer"
    # One message for unknown key, wrong secret, revoked, expired and deactivated owner.
    failure = "Invalid or expired API token."

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != self.keyword.lower().encode():
            return None
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            return None
        if not is_api_token(raw):
            return None
        token = api_token_authenticate(raw)
        if token is None:
            raise exceptions.AuthenticationFailed(self.failure)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents the bearer scheme in ``/api/schema/``."""

    target_class = "agents.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "gvp_<key>_<secret> (personal API token)",
        }
