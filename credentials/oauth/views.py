"""The OAuth 2.0 endpoints as plain Django views: metadata, JWKS, token, introspect, revoke.

Every error is an RFC 6749 §5.2 JSON body with ``Cache-Control: no-store``; a database that
cannot take the audit entry yields 503 and nothing is issued (fail closed), never a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET

from audit.services import AuditGuardFailed, AuditWriteError

from .. import epoch, metrics
from ..client_auth import (
    ASSERTION_ALGORITHMS,
    ClientPrincipal,
    ReplayedAssertion,
    authenticate_client,
    authenticate_resource_server,
    record_replay,
    token_endpoint_url,
)
from ..config_digest import PARAMETER as DIGEST_PARAMETER
from ..config_digest import check_config_digest
from ..errors import OAuthError
from ..services import (
    IssuedToken,
    token_exchange,
    token_introspect,
    token_issue,
    token_refuse,
    token_revoke,
)
from ..signing import public_jwks

log = logging.getLogger(__name__)

GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
FORM = "application/x-www-form-urlencoded"
SINGLE_VALUED = frozenset(
    (
        "grant_type",
        "scope",
        "client_id",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
        "subject_token",
        "subject_token_type",
        "actor_token",
        "actor_token_type",
        "requested_token_type",
        "token",
        "token_type_hint",
        "workflow_run",
        "config_digest",
    )
)


# The parameters that carry a secret: hidden from error reports (Django's exception reporter,
# admin mails) if anything under these views ever fails unexpectedly.
SECRET_PARAMETERS = ("client_secret", "client_assertion", "subject_token", "actor_token", "token")


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _json(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return _no_store(JsonResponse(body, status=status))


def error_response(exc: OAuthError) -> HttpResponse:
    body = {"error": exc.error}
    if exc.description:
        body["error_description"] = exc.description
    response = _json(body, status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _check_form(request: HttpRequest) -> None:
    if request.method != "POST":
        raise OAuthError("invalid_request", "use POST", status=405)
    content_type = request.content_type or ""
    if content_type != FORM:
        raise OAuthError("invalid_request", f"the body must be {FORM}")
    try:
        post = request.POST
    except Exception as exc:  # a body Django cannot parse (too many fields, bad encoding)
        raise OAuthError("invalid_request", "the body could not be parsed") from exc
    for name, values in post.lists():
        if len(values) > 1 and name in SINGLE_VALUED:
            raise OAuthError("invalid_request", f"{name} must not be repeated")
    if request.GET.get("client_secret") or request.GET.get("client_assertion"):
        raise OAuthError("invalid_request", "credentials belong in the body, not the URL")


def _oauth_endpoint(view: Callable[[HttpRequest], HttpResponse]):
    name = view.__name__

    def wrapper(request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        error: str | None = "error"  # until the view answers (an unexpected exception stays so)
        try:
            _check_form(request)
            response = view(request)
            error = None
            return response
        except OAuthError as exc:
            error = exc.error
            if exc.status == 429:
                metrics.throttled(name)
            response = error_response(exc)
            if exc.status == 405:
                response["Allow"] = "POST"
            return response
        except (DatabaseError, AuditWriteError):
            # AuditWriteError: the entry was refused, so nothing was issued; answer as RFC 6749
            # says (not the audit middleware's generic 503, which lacks no-store).
            error = "temporarily_unavailable"
            log.exception("oauth endpoint: database unavailable, refusing (fail closed)")
            return _json(
                {"error": error, "error_description": "try again later"},
                status=503,
            )
        finally:
            if name == "token":
                metrics.token_observed(request, error=error, seconds=time.perf_counter() - started)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return csrf_exempt(sensitive_post_parameters(*SECRET_PARAMETERS)(wrapper))


@_oauth_endpoint
def token(request: HttpRequest) -> HttpResponse:
    """RFC 6749 token endpoint: ``client_credentials`` and RFC 8693 token exchange."""
    post = request.POST
    grant_type = post.get("grant_type", "")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    client = None
    if grant_type == GRANT_CLIENT_CREDENTIALS:
        client = authenticate_client(request, defer_replay=True, use_cache=True)
        if client.guard_epoch is not None:
            # From the per-process cache: only an issuance is answered from it. A refusal, a
            # replay or an epoch that moved on is decided again from the database below.
            try:
                return _json(_issue(client, post).response())
            except AuditGuardFailed:
                epoch.forget_hint()
            except OAuthError:
                pass
            client = None
    client = client or authenticate_client(request, defer_replay=True)
    try:
        if grant_type == GRANT_CLIENT_CREDENTIALS:
            issued = _issue(client, post)
        elif grant_type == GRANT_TOKEN_EXCHANGE:
            check_config_digest(client, post.get(DIGEST_PARAMETER))
            issued = token_exchange(
                client=client,
                subject_token=post.get("subject_token", ""),
                subject_token_type=post.get("subject_token_type", ""),
                actor_token=post.get("actor_token", ""),
                actor_token_type=post.get("actor_token_type", ""),
                requested_token_type=post.get("requested_token_type", ""),
                scope=post.get("scope"),
                resources=post.getlist("resource"),
                workflow_run=post.get("workflow_run", ""),
            )
        else:
            raise OAuthError("unsupported_grant_type", "use client_credentials or token-exchange")
    except ReplayedAssertion:
        record_replay(request, client)
        raise
    except OAuthError as exc:
        token_refuse(client=client, grant_type=grant_type, error=exc)
        raise
    return _json(issued.response())


def _issue(client: ClientPrincipal, post) -> IssuedToken:
    check_config_digest(client, post.get(DIGEST_PARAMETER))
    return token_issue(client=client, scope=post.get("scope"), resources=post.getlist("resource"))


@_oauth_endpoint
def introspect(request: HttpRequest) -> HttpResponse:
    """RFC 7662 introspection; the caller authenticates as a resource server."""
    caller = authenticate_resource_server(request)
    value = request.POST.get("token", "")
    if not value:
        raise OAuthError("invalid_request", "token is required")
    return _json(token_introspect(caller=caller, token=value))


@_oauth_endpoint
def revoke(request: HttpRequest) -> HttpResponse:
    """RFC 7009 revocation, by the token's client or a resource server it is addressed to."""
    client = authenticate_client(request)
    value = request.POST.get("token", "")
    if not value:
        raise OAuthError("invalid_request", "token is required")
    token_revoke(client=client, token=value)
    return _json({})


@csrf_exempt
def ping(request: HttpRequest) -> HttpResponse:
    """A no-op on the same stack (middleware, JSON, no-store): the benchmarks' ceiling."""
    return _json({"ok": True})


@require_GET
def metadata(request: HttpRequest) -> HttpResponse:
    """RFC 8414 authorization server metadata."""
    issuer = settings.OAUTH_ISSUER
    auth_methods = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
    signing = ["ES256", "EdDSA"]  # what we sign with
    assertions = list(ASSERTION_ALGORITHMS)  # what clients may sign their assertions with
    body = {
        "issuer": issuer,
        "token_endpoint": token_endpoint_url(),
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "grant_types_supported": [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": assertions,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": assertions,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": assertions,
        "access_token_signing_alg_values_supported": signing,
        "scopes_supported": [],
        "service_documentation": f"{issuer}/api/schema/ui/",
    }
    from agents.models import Scope

    body["scopes_supported"] = list(Scope.objects.values_list("name", flat=True))
    response = JsonResponse(body)
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def jwks(request: HttpRequest) -> HttpResponse:
    """RFC 7517 JWKS: the next, current and retired-but-unexpired public keys."""
    from ..signing import current_kid

    current_kid()  # makes the first key on a fresh install, so the JWKS is never empty
    response = JsonResponse(public_jwks())
    # Shorter than the publish lead of the next key (settings.SIGNING_KEY_PUBLISH_LEAD_SECONDS).
    response["Cache-Control"] = "public, max-age=300"
    return response
