"""The email settings of notices, from the environment.

``EMAIL_URL`` (``smtp://``, ``smtp+tls://user:password@host:587``, ``smtp+ssl://``,
``consolemail://``, ``filemail:///path``) wins; else the ``EMAIL_HOST`` family; with neither, the
embedded default writes each message as a file under ``var/mail/`` (nothing leaves the machine).
"""

from __future__ import annotations

from pathlib import Path

import environ


def email_settings(env: environ.Env, var_dir: Path) -> dict[str, object]:
    """The ``EMAIL_*`` settings to define (django-environ's documented way for ``EMAIL_URL``)."""
    if "EMAIL_URL" in env:
        parsed = env.email_url("EMAIL_URL")
        if parsed.get("EMAIL_FILE_PATH") and not parsed["EMAIL_FILE_PATH"].startswith("/"):
            # django-environ drops the root of filemail:///var/mail; the URL means an absolute path.
            parsed["EMAIL_FILE_PATH"] = "/" + parsed["EMAIL_FILE_PATH"]
        return {name: value for name, value in parsed.items() if value is not None}
    if "EMAIL_HOST" in env:
        port = env.int("EMAIL_PORT", default=587)
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": env.str("EMAIL_HOST"),
            "EMAIL_PORT": port,
            "EMAIL_HOST_USER": env.str("EMAIL_HOST_USER", default=""),
            "EMAIL_HOST_PASSWORD": env.str("EMAIL_HOST_PASSWORD", default=""),
            "EMAIL_USE_TLS": env.bool("EMAIL_USE_TLS", default=port == 587),
            "EMAIL_USE_SSL": env.bool("EMAIL_USE_SSL", default=port == 465),
        }
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(var_dir / "mail"),
    }
