"""The project's 404 handler: JSON for the machine paths, the branded page for people.

A URL under ``/api/`` or ``/oauth/`` that matches no route (a malformed id the URL converter
rejects, an unknown export format) would otherwise get the portal's HTML page, which no API
client can read and the OpenAPI schema does not promise.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

MACHINE_PREFIXES = ("/api/", "/oauth/", "/.well-known/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(MACHINE_PREFIXES):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
