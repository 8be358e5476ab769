"""``POST /api/v1/decisions``: a thin view over ``decision_make``.

The caller is a resource server authenticated with its own credential (HTTP Basic with its
client secret, or ``private_key_jwt`` in a form body). The body is JSON (or a form):
``token``, ``action``, ``resource`` (its slug or audience), optional ``connection`` and ``cost``.
"""

from __future__ import annotations

import json
import logging
import time

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agents.models import Resource
from credentials import metrics as credential_metrics
from credentials.client_auth import ClientPrincipal, authenticate_client
from credentials.errors import ClientAuthError, OAuthError

from . import metrics
from .errors import CallerUnverified, DecisionInputError
from .services import decision_make

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024


def _error(status: int, error: str, message: str, headers=None, *, started: float) -> JsonResponse:
    metrics.rejected(error, time.perf_counter() - started)
    if status == 429:
        credential_metrics.throttled("decisions")
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


def _caller(client: ClientPrincipal) -> Resource:
    if client.resource is None:
        raise ClientAuthError("this endpoint is for resource servers")
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
    started = time.perf_counter()
    try:
        return _answer(request, started)
    except DatabaseError:
        # The database is unreachable (or failed mid-way): fail closed with a 503 the caller
        # can retry, never a 500. The connection is closed at the end of the request, so the
        # next one reconnects by itself (tests/security/test_faults.py).
        log.exception("decision point: database unavailable, refusing (fail closed)")
        return _error(
            503, "temporarily_unavailable", "try again later; nothing was allowed", started=started
        )


def _answer(request: HttpRequest, started: float) -> JsonResponse:
    result = None
    try:
        client = authenticate_client(request, use_cache=True)
        caller = _caller(client)
    except OAuthError as exc:
        return _error(
            exc.status, exc.error, exc.description or exc.error, exc.headers, started=started
        )
    if client.guard_epoch is not None:
        # A caller its process remembers (credentials.client_auth): the decision must commit
        # under the same epoch. Any other outcome (stale epoch, bad input, 403, 503) is answered
        # only after authenticating from the database, so a revoked credential never learns
        # more than a 401. (An assertion was used up by the first call: not again.)
        try:
            result = _decide(request, caller, client.guard_epoch)
        except (CallerUnverified, DecisionInputError):
            try:
                caller = _caller(authenticate_client(request, defer_replay=True))
            except OAuthError as exc:
                return _error(
                    exc.status,
                    exc.error,
                    exc.description or exc.error,
                    exc.headers,
                    started=started,
                )
    if result is None:
        try:
            result = _decide(request, caller, None)
        except DecisionInputError as exc:
            return _error(exc.status, exc.error, exc.message, started=started)
    metrics.decided(result.decision, result.reasons, time.perf_counter() - started)
    response = JsonResponse(result.as_dict())
    response["Cache-Control"] = "no-store"
    return response
