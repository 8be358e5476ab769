"""Sessions as policy: an absolute lifetime from sign-in on top of Django's idle expiry.

Django renews the cookie and the row on every request (``SESSION_SAVE_EVERY_REQUEST`` with
``SESSION_COOKIE_AGE`` = the idle timeout), so an idle session ends by itself; a busy one would
live for ever. This middleware notes when the session was first seen signed in and ends it
``SESSION_MAX_AGE`` seconds later, whatever happened since.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

STARTED = "_session_started_at"


class SessionLifetimeMiddleware:
    """Ends an authenticated session older than ``SESSION_MAX_AGE`` (the next page asks to sign
    in again); requests without a session (the machine endpoints) pass untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        # No session cookie (the machine endpoints' callers): nobody is signed in, and the lazy
        # user is left unloaded.
        if session is None or session.session_key is None:
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            started = session.get(STARTED)
            if started is None:
                session[STARTED] = now
            elif now - int(started) > settings.SESSION_MAX_AGE:
                logout(request)  # flushes the session: a new, anonymous one
        return self.get_response(request)
