"""``POST /api/v1/decisions``: a thin view over ``decision_make``.

The caller is a resource server authenticated with its own credential (HTTP Basic with its
client secret, or ``private_key_jwt`` in a form body). The body is JSON (or a form):
``token``, ``action``, ``resource`` (its slug or audience), optional ``connection`` and ``cost``.
"""

from __future__ import annotations

import hashlib
import json
import time

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agents.models import Resource
from credentials.client_auth import LAST_USED_GRANULARITY, authenticate_client
from credentials.errors import ClientAuthError, OAuthError

from . import cache
from .errors import CallerUnverified, DecisionInputError
from .services import decision_make

MAX_BODY = 16 * 1024


def _error(status: int, error: str, message: str, headers=None) -> JsonResponse:
    response = JsonResponse({"error": error, "message": message}, status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    response["Cache-Control"] = "no-store"
    return response


def _body(request: HttpRequest) -> dict:
    if request.content_type == "application/json":
        if len(request.body) > MAX_BODY:
            raise DecisionInputError("invalid_request", "the body is too large")
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise DecisionInputError("invalid_request", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise DecisionInputError("invalid_request", "the body must be a JSON object")
        return data
    return request.POST.dict()


def _cache_key(request: HttpRequest) -> str | None:
    """Only HTTP Basic with a JSON body (no form fields that could also authenticate)."""
    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() != "basic " or request.content_type != "application/json":
        return None
    return hashlib.sha256(auth.encode()).hexdigest()


def _authenticate(request: HttpRequest, key: str | None) -> Resource:
    """``authenticate_resource_server``, remembered at the epoch read before it.

    Kept until the credential expires or its ``last_used_at`` is a minute old, so the real
    authentication (and its once-a-minute ``last_used_at`` touch) still runs at least once a
    minute per process; revoking or changing the credential or resource changes the epoch.
    """
    epoch = cache.current_epoch() if key is not None else None
    client = authenticate_client(request)
    if client.resource is None:
        raise ClientAuthError("this endpoint is for resource servers")
    credential = client.credential
    if key is not None:
        used = credential.last_used_at or timezone.now()
        until = (used + LAST_USED_GRANULARITY).timestamp()
        if credential.expires_at is not None:
            until = min(until, credential.expires_at.timestamp())
        cache.callers.put(key, epoch, until, client.resource)
    return client.resource


def _decide(request: HttpRequest, caller: Resource, caller_epoch: int | None):
    data = _body(request)
    connection = data.get("connection")
    if connection is not None and (
        isinstance(connection, bool) or not isinstance(connection, int | str)
    ):
        raise DecisionInputError("invalid_request", "connection must be an id")
    if isinstance(connection, str):
        if not connection.isdigit():
            raise DecisionInputError("invalid_request", "connection must be an id")
        connection = int(connection)
    return decision_make(
        caller=caller,
        token=data.get("token"),
        action=data.get("action"),
        resource=data.get("resource"),
        cost=data.get("cost"),
        connection_id=connection,
        caller_epoch=caller_epoch,
    )


@csrf_exempt  # resource servers authenticate with client credentials, never with a cookie
@require_POST
def decisions(request: HttpRequest) -> JsonResponse:
    key = _cache_key(request)
    epoch = cache.epoch_hint() if key is not None else None
    caller = cache.callers.get(key, epoch, time.time()) if key is not None else None
    if caller is not None:
        # Authenticated from the cache: the decision must commit under the same epoch. Any
        # other outcome (stale epoch, bad input, 403, 503) is answered only after a real
        # authentication, so a revoked credential never learns more than a 401.
        try:
            result = _decide(request, caller, epoch)
        except (CallerUnverified, DecisionInputError):
            caller = None
    if caller is None:
        try:
            caller = _authenticate(request, key)
        except OAuthError as exc:
            return _error(exc.status, exc.error, exc.description or exc.error, exc.headers)
        try:
            result = _decide(request, caller, None)
        except DecisionInputError as exc:
            return _error(exc.status, exc.error, exc.message)
    response = JsonResponse(result.as_dict())
    response["Cache-Control"] = "no-store"
    return response
