"""``/healthz``, ``/readyz`` and ``/metrics``, answered before anything else runs.

First in ``MIDDLEWARE``: a load balancer probes by address (a host name not in
``ALLOWED_HOSTS``) and over plain HTTP inside the network (no HTTPS redirect), and a probe must
not need a session, a login or the database's audit context. Every other request pays one set
lookup of its path.

``/metrics`` answers only a caller with ``Authorization: Bearer $METRICS_TOKEN`` or from an
address in ``METRICS_ALLOWED_IPS`` (addresses or networks, as the connection's REMOTE_ADDR, not
a forwarded header a client could write). With neither set, only this host (loopback) may
scrape.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path not in PROBE_PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = HttpResponse(status=405)
            response["Allow"] = "GET, HEAD"
        elif path == "/healthz":
            response = JsonResponse({"status": "alive"})
        elif path == "/readyz":
            response = readyz()
        else:
            response = self.metrics(request)
        response["Cache-Control"] = "no-store"
        return response

    def metrics(self, request: HttpRequest) -> HttpResponse:
        if not self.may_scrape(request):
            response = HttpResponse(status=401 if settings.METRICS_TOKEN else 403)
            if settings.METRICS_TOKEN:
                response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        from prometheus_client import CONTENT_TYPE_LATEST

        from .metrics import exposition

        return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)

    def may_scrape(self, request: HttpRequest) -> bool:
        token = settings.METRICS_TOKEN
        header = request.headers.get("Authorization", "")
        if token and header.startswith("Bearer "):
            return hmac.compare_digest(header[7:].strip().encode(), token.encode())
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        address = getattr(address, "ipv4_mapped", None) or address
        networks = tuple(
            ipaddress.ip_network(n, strict=False) for n in settings.METRICS_ALLOWED_IPS
        ) or (LOOPBACK if not token else ())
        return any(address in network for network in networks)


def readyz() -> JsonResponse:
    from .health import readiness

    ready, checks = readiness()
    return JsonResponse(
        {"status": "ready" if ready else "unready", "checks": checks}, status=200 if ready else 503
    )
