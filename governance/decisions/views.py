"""``POST /api/v1/decisions``: a thin view over ``decision_make``.

The caller is a resource server authenticated with its own credential (HTTP Basic with its
client secret, or ``private_key_jwt`` in a form body). The body is JSON (or a form):
``token``, ``action``, ``resource`` (its slug or audience), optional ``connection`` and ``cost``.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from credentials.client_auth import authenticate_resource_server
from credentials.errors import OAuthError

from .errors import DecisionInputError
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


@csrf_exempt  # resource servers authenticate with client credentials, never with a cookie
@require_POST
def decisions(request: HttpRequest) -> JsonResponse:
    try:
        caller = authenticate_resource_server(request)
    except OAuthError as exc:
        return _error(exc.status, exc.error, exc.description or exc.error, exc.headers)
    try:
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
        result = decision_make(
            caller=caller,
            token=data.get("token"),
            action=data.get("action"),
            resource=data.get("resource"),
            cost=data.get("cost"),
            connection_id=connection,
        )
    except DecisionInputError as exc:
        return _error(exc.status, exc.error, exc.message)
    response = JsonResponse(result.as_dict())
    response["Cache-Control"] = "no-store"
    return response
