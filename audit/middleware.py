"""Binds the request id, source address and acting user for audit entries of a request.

It also makes fail-closed visible: when an audit entry cannot be written the action has been
rolled back, and the client gets a plain 503 instead of a stack trace.
"""

from __future__ import annotations

import logging
import uuid

from django.http import JsonResponse

from . import context
from .principals import SYSTEM, user_principal
from .services import AuditWriteError

log = logging.getLogger(__name__)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:100] or uuid.uuid4().hex
        # Django logs a 4xx/5xx after the middleware has returned: its log line finds the id here.
        request.request_id = request_id

        def actor() -> str:
            user = getattr(request, "user", None)
            return user_principal(user) if user is not None else SYSTEM

        token = context.bind(
            context.RequestContext(
                request_id=request_id,
                source_ip=request.META.get("REMOTE_ADDR"),
                actor_resolver=actor,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response

    def process_exception(self, request, exception):
        if not isinstance(exception, AuditWriteError):
            return None
        log.error("audit write failed, action refused: %s", exception, exc_info=exception)
        return JsonResponse(
            {
                "error": "audit_unavailable",
                "error_description": "The action was not performed because it could not be "
                "recorded in the audit log. Try again later.",
            },
            status=503,
        )
