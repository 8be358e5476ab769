"""The OpenAPI schema's operations for the endpoints that are plain Django views, not DRF.

The OAuth 2.0 endpoints, the decision point and the agents' credential self-rotation stay plain
views (they are the hot machine-to-machine paths, and RFC 6749 dictates their bodies), so
drf-spectacular cannot see them. This post-processing hook (``SPECTACULAR_SETTINGS``) adds them
as documented operations: form bodies, RFC 6749 §5.2 error responses, the client
authentication they take. ``tests/agents/test_schema.py`` validates the result and checks each
one against the live endpoint.
"""

from __future__ import annotations

from typing import Any

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# RFC 6749 §5.2 plus RFC 8693 (invalid_target) and §4.1.2.1's temporarily_unavailable, which
# is what a database that cannot take the audit entry gives (503).
OAUTH_ERRORS = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "temporarily_unavailable",
]

_CLIENT_AUTH_FIELDS = {
    "client_id": {"type": "string", "description": "client_secret_post / private_key_jwt"},
    "client_secret": {"type": "string", "writeOnly": True, "description": "client_secret_post"},
    "client_assertion_type": {
        "type": "string",
        "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
    },
    "client_assertion": {
        "type": "string",
        "writeOnly": True,
        "description": "private_key_jwt (RFC 7523): a JWT signed with the client's key",
    },
}

COMPONENTS: dict[str, Any] = {
    "OAuthError": {
        "type": "object",
        "description": "RFC 6749 §5.2 error response.",
        "properties": {
            "error": {"type": "string", "enum": OAUTH_ERRORS},
            "error_description": {"type": "string"},
        },
        "required": ["error"],
    },
    "TokenRequest": {
        "type": "object",
        "properties": {
            "grant_type": {
                "type": "string",
                "enum": [
                    "client_credentials",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ],
            },
            "scope": {"type": "string", "description": "space-separated scope names"},
            "resource": {
                "type": "array",
                "items": {"type": "string", "format": "uri"},
                "description": "RFC 8707 audiences",
            },
            "subject_token": {"type": "string", "writeOnly": True},
            "subject_token_type": {"type": "string"},
            "actor_token": {"type": "string", "writeOnly": True},
            "actor_token_type": {"type": "string"},
            "requested_token_type": {"type": "string"},
            "workflow_run": {"type": "string", "description": "bind the token to this run"},
            **_CLIENT_AUTH_FIELDS,
        },
        "required": ["grant_type"],
    },
    "TokenResponse": {
        "type": "object",
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer"},
            "scope": {"type": "string"},
            "issued_token_type": {"type": "string"},
        },
        "required": ["access_token", "token_type", "expires_in"],
    },
    "TokenParameter": {
        "type": "object",
        "properties": {
            "token": {"type": "string", "writeOnly": True},
            "token_type_hint": {"type": "string"},
            **_CLIENT_AUTH_FIELDS,
        },
        "required": ["token"],
    },
    "IntrospectionResponse": {
        "type": "object",
        "description": "RFC 7662; only `active` when the token is not active.",
        "properties": {"active": {"type": "boolean"}},
        "required": ["active"],
        "additionalProperties": True,
    },
    "Jwks": {
        "type": "object",
        "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
        "required": ["keys"],
    },
    "AuthorizationServerMetadata": {
        "type": "object",
        "description": "RFC 8414",
        "properties": {
            "issuer": {"type": "string"},
            "token_endpoint": {"type": "string"},
            "jwks_uri": {"type": "string"},
        },
        "required": ["issuer", "token_endpoint", "jwks_uri"],
        "additionalProperties": True,
    },
    "DecisionRequest": {
        "type": "object",
        "properties": {
            "token": {"type": "string", "writeOnly": True, "description": "the agent's token"},
            "action": {"type": "string"},
            "resource": {"type": "string", "description": "the resource's slug or audience"},
            "connection": {"type": "integer", "nullable": True},
            "cost": {"type": "string", "nullable": True, "description": "a decimal amount"},
        },
        "required": ["token", "action", "resource"],
    },
    "Decision": {
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["allow", "deny", "approval_required"]},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "message": {"type": "string"},
            "trust": {"type": "object", "nullable": True, "additionalProperties": True},
            "remaining": {"type": "object", "additionalProperties": True},
            "approval": {"type": "object", "nullable": True, "additionalProperties": True},
            "log_only": {"type": "array", "items": {"type": "object"}},
            "audit_id": {"type": "integer", "nullable": True},
        },
        "required": ["decision", "reasons", "message"],
    },
    "DecisionError": {
        "type": "object",
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        "required": ["error"],
    },
    "SelfRotationRequest": {
        "type": "object",
        "properties": {
            "emergency": {"type": "boolean", "description": "revoke the predecessor now"},
            "public_jwk": {"type": "string", "description": "a key credential's new public JWK"},
            **_CLIENT_AUTH_FIELDS,
        },
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(name: str, *types: str) -> dict[str, Any]:
    return {"required": True, "content": {t: {"schema": _ref(name)} for t in types}}


def _answer(description: str, name: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if name:
        out["content"] = {JSON: {"schema": _ref(name)}}
    return out


def _oauth_errors(*extra: str) -> dict[str, Any]:
    errors = {
        "400": _answer("invalid_request, invalid_grant, … (RFC 6749 §5.2)", "OAuthError"),
        "401": _answer("invalid_client (with a Basic challenge)", "OAuthError"),
        "405": _answer("only POST", "OAuthError"),
        "429": _answer("too many failed client authentications (Retry-After)", "OAuthError"),
        "503": _answer("temporarily_unavailable: nothing was done (fail closed)", "OAuthError"),
    }
    return {k: v for k, v in errors.items() if k in extra or not extra}


CLIENT_AUTH = [{"clientSecretBasic": []}, {}]  # {}: the credentials in the form body instead

PATHS: dict[str, dict[str, Any]] = {
    "/oauth/token": {
        "post": {
            "operationId": "oauth_token",
            "summary": "RFC 6749 token endpoint: client_credentials and RFC 8693 token exchange",
            "tags": ["oauth"],
            "security": CLIENT_AUTH,
            "requestBody": _body("TokenRequest", FORM),
            "responses": {"200": _answer("a token", "TokenResponse"), **_oauth_errors()},
        }
    },
    "/oauth/introspect": {
        "post": {
            "operationId": "oauth_introspect",
            "summary": "RFC 7662 introspection, by a resource server",
            "tags": ["oauth"],
            "security": CLIENT_AUTH,
            "requestBody": _body("TokenParameter", FORM),
            "responses": {
                "200": _answer("the token's state", "IntrospectionResponse"),
                **_oauth_errors(),
            },
        }
    },
    "/oauth/revoke": {
        "post": {
            "operationId": "oauth_revoke",
            "summary": "RFC 7009 revocation",
            "tags": ["oauth"],
            "security": CLIENT_AUTH,
            "requestBody": _body("TokenParameter", FORM),
            "responses": {
                "200": {"description": "revoked, or already unusable (RFC 7009 §2.2)"},
                **_oauth_errors(),
            },
        }
    },
    "/.well-known/jwks.json": {
        "get": {
            "operationId": "oauth_jwks",
            "summary": "RFC 7517 public signing keys",
            "tags": ["oauth"],
            "security": [{}],
            "responses": {"200": _answer("the keys", "Jwks")},
        }
    },
    "/.well-known/oauth-authorization-server": {
        "get": {
            "operationId": "oauth_metadata",
            "summary": "RFC 8414 authorization server metadata",
            "tags": ["oauth"],
            "security": [{}],
            "responses": {"200": _answer("the metadata", "AuthorizationServerMetadata")},
        }
    },
    "/api/v1/decisions": {
        "post": {
            "operationId": "decisions_create",
            "summary": "The decision point: a resource server asks about an agent's request",
            "tags": ["decisions"],
            "security": CLIENT_AUTH,
            "requestBody": _body("DecisionRequest", JSON, FORM),
            "responses": {
                "200": _answer("allow, deny or approval_required, with reasons", "Decision"),
                "400": _answer("invalid_request", "DecisionError"),
                "401": _answer("invalid_client", "DecisionError"),
                "403": _answer("the resource is not the caller's", "DecisionError"),
                "405": {"description": "only POST"},
                "429": _answer("too many failed client authentications", "DecisionError"),
                "503": _answer("counters or database unavailable: fail closed", "DecisionError"),
            },
        }
    },
    "/api/v1/credentials/rotate": {
        "post": {
            "operationId": "credentials_self_rotate",
            "summary": "A client rotates the credential it authenticates with",
            "tags": ["credentials"],
            "security": CLIENT_AUTH,
            "requestBody": {
                "required": False,
                "content": {
                    FORM: {"schema": _ref("SelfRotationRequest")},
                    JSON: {"schema": _ref("SelfRotationRequest")},
                },
            },
            "responses": {
                "201": {
                    "description": "the successor, with its secret (shown once; no-store)",
                    "content": {JSON: {"schema": {"type": "object", "additionalProperties": True}}},
                },
                **_oauth_errors("400", "401", "405", "429", "503"),
            },
        }
    },
}


# What every management API operation may answer besides its success: DRF's error bodies
# (``{"detail": …}`` or field errors), documented once instead of never.
API_ERRORS = {
    "400": "invalid input: field errors, or a detail",
    "401": "not authenticated",
    "403": "not allowed",
    "404": "not found, or not yours to see",
}
COMPONENTS["Error"] = {
    "description": 'DRF\'s error body: `{"detail": "…"}`, `{"<field>": ["…"]}`, or a list of '
    "messages (a search with a NUL character).",
    "anyOf": [
        {"type": "object", "additionalProperties": True},
        {"type": "array", "items": {"type": "string"}},
    ],
}


def _document_errors(paths: dict[str, Any]) -> None:
    for path, item in paths.items():
        if not path.startswith("/api/v1/") or path in PATHS:
            continue
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for code, description in API_ERRORS.items():
                responses.setdefault(code, _answer(description, "Error"))


def add_plain_views(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular post-processing hook: add the plain views' operations, and the error
    answers every management API operation may give."""
    _document_errors(result.get("paths", {}))
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    result["components"].setdefault("securitySchemes", {})["clientSecretBasic"] = {
        "type": "http",
        "scheme": "basic",
        "description": "client_secret_basic: the client id and secret (RFC 6749 §2.3.1)",
    }
    result.setdefault("paths", {}).update(PATHS)
    return result
