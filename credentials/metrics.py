"""Prometheus counters of the OAuth endpoints: tokens by grant, client authentication method
and outcome, their latency, and failed-authentication throttling.

Written at the edge (the ``_oauth_endpoint`` wrapper of ``credentials.oauth.views``), one
counter increment and one histogram observation per request, from what the request already
holds: no query, no parse beyond Django's own form. The method is the one the request *used*
(an Authorization header is ``client_secret_basic``, a ``client_assertion`` is
``private_key_jwt``), so a failed authentication is counted under the method that failed.
Label values come from fixed sets (grant types, methods, RFC 6749 error codes), never from
the request verbatim. ``governance.ops.metrics`` exposes them (multiprocess under gunicorn).
"""

from __future__ import annotations

from django.http import HttpRequest
from prometheus_client import Counter, Histogram

# Request latency from a fraction of a millisecond (a token answered from the process's
# cache) to the point a client would have given up.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

TOKENS = Counter(
    "governance_tokens",
    "Token endpoint requests by grant type, client authentication method and outcome "
    "(issued, or the RFC 6749 error code).",
    ["grant", "method", "outcome"],
)
TOKEN_SECONDS = Histogram(
    "governance_token_seconds",
    "Token endpoint latency (seconds, in the view: middleware excluded).",
    buckets=LATENCY_BUCKETS,
)
THROTTLED = Counter(
    "governance_auth_throttled",
    "Client authentications refused by the failed-authentication throttle (HTTP 429), by endpoint.",
    ["endpoint"],
)

GRANTS = {
    "client_credentials": "client_credentials",
    "urn:ietf:params:oauth:grant-type:token-exchange": "token_exchange",
}
# RFC 6749 §5.2 / RFC 8693 codes the endpoints answer with; anything else counts as "error".
ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_target",
        "temporarily_unavailable",
    }
)


def auth_method(request: HttpRequest) -> str:
    """The client authentication method this request used (``none`` if it used none)."""
    if request.META.get("HTTP_AUTHORIZATION", "")[:6].lower() == "basic ":
        return "client_secret_basic"
    post = request.POST
    if "client_assertion" in post:
        return "private_key_jwt"
    if "client_secret" in post:
        return "client_secret_post"
    return "none"


def token_observed(request: HttpRequest, *, error: str | None, seconds: float) -> None:
    """Count one token request (``error`` None: a token was issued) and its latency."""
    try:
        grant = GRANTS.get(request.POST.get("grant_type", ""), "other")
        method = auth_method(request)
    except Exception:  # a body Django could not parse: already answered invalid_request
        grant, method = "other", "none"
    outcome = "issued" if error is None else (error if error in ERRORS else "error")
    TOKENS.labels(grant, method, outcome).inc()
    TOKEN_SECONDS.observe(seconds)


def throttled(endpoint: str) -> None:
    THROTTLED.labels(endpoint).inc()
