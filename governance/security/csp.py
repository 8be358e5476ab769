"""Content-Security-Policy on every response, the header of the settings' policy built once.

django-csp's middleware builds the header from the settings on every response: the policy and
the report-only one, each through ``dataclasses.asdict`` (a deep copy) and ``build_policy`` (a
copy of every directive). That was the largest part of what the decision point's HTTP request
gained with the governance work (``docs/decisions.md``). Almost every response carries the same
header: the settings' policy, with no change by its view and no nonce. This subclass builds that
header once per process and sets it under django-csp's own rules; a response its view changed
(``csp_update``, ``csp_replace``, ``csp``) or a request that used ``request.csp_nonce`` goes
through django-csp itself. ``tests/security/test_csp.py`` checks both give the same headers.
"""

from __future__ import annotations

import functools
import http
from dataclasses import dataclass

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.http.response import HttpResponseBase

# What the csp decorators put on a response to change its policy (csp_exempt is not a change).
_PER_VIEW = tuple(
    f"_csp_{part}{suffix}" for part in ("config", "update", "replace") for suffix in ("", "_ro")
)
_DEBUG_PAGES = (http.HTTPStatus.NOT_FOUND, http.HTTPStatus.INTERNAL_SERVER_ERROR)


@dataclass(frozen=True)
class _Policy:
    """One header as django-csp would set it from the settings alone."""

    header: str
    value: str  # "" when the setting is absent: no header
    exempt: str  # the response attribute of ``csp_exempt``
    excluded: tuple[str, ...]  # EXCLUDE_URL_PREFIXES


@functools.cache
def _policies() -> tuple[_Policy, _Policy]:
    """The enforced and the report-only header of the settings (rebuilt when they change)."""

    def excluded(setting: str) -> tuple[str, ...]:
        return tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ())

    return (
        _Policy(HEADER, build_policy(), "_csp_exempt", excluded("CONTENT_SECURITY_POLICY")),
        _Policy(
            HEADER_REPORT_ONLY,
            build_policy(report_only=True),
            "_csp_exempt_ro",
            excluded("CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ),
    )


def _forget(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _policies.cache_clear()


setting_changed.connect(_forget, dispatch_uid="governance.security.csp")


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp's middleware (``process_request`` and the nonce unchanged) that sets the
    settings' header, built once, on a response whose view did not change its policy."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _PER_VIEW
        ):
            return super().process_response(request, response)
        # From here on, django-csp 4.0's process_response with its built headers.
        if response.status_code in _DEBUG_PAGES and settings.DEBUG:
            return response  # Django's debug pages have inline script
        for policy in _policies():
            if (
                policy.value
                and policy.header not in response
                and getattr(response, policy.exempt, False) is False
                and not request.path_info.startswith(policy.excluded)
            ):
                response[policy.header] = policy.value
        # As django-csp does: a template asking for a nonce after this point is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
