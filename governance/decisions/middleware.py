"""Django's cookie-session middlewares, skipped on machine-to-machine endpoints.

``/api/v1/decisions`` is called by resource servers that authenticate with their own
credential (HTTP Basic or ``private_key_jwt``), never with a cookie, and the view is CSRF-exempt
for that reason. Loading a session, a lazy user and the messages storage for it, and saving
nothing back, was a measurable share of a decision's CPU (``docs/decisions.md``). These
subclasses (used in ``settings.MIDDLEWARE`` in place of Django's, so the admin's and
``check --deploy``'s checks still find them) pass such a request straight on: no
``request.session``, ``request.user`` or messages, so nothing on that path can be
authenticated by a cookie even by mistake. Every other path runs Django's middleware
unchanged. CSRF, security headers, clickjacking protection, the host check and the audit
context still run on every path.
"""

from __future__ import annotations

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions

# Exact paths (``request.path_info``) whose callers never use a cookie.
MACHINE_PATHS = frozenset({"/api/v1/decisions"})


class _SkippedOnMachinePaths:
    def __call__(self, request):
        if not self.async_mode and request.path_info in MACHINE_PATHS:
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_SkippedOnMachinePaths, sessions.SessionMiddleware):
    pass


class AuthenticationMiddleware(_SkippedOnMachinePaths, auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(_SkippedOnMachinePaths, messages.MessageMiddleware):
    pass
