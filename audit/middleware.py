"""Binds the request id and source address for audit entries written during a request."""

from __future__ import annotations

import uuid

from . import context


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:100] or uuid.uuid4().hex
        token = context.bind(
            context.RequestContext(request_id=request_id, source_ip=request.META.get("REMOTE_ADDR"))
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response
