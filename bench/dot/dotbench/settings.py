"""django-oauth-toolkit as its own small project, for ``bench/tokens.py --versus-dot``.

Runs in a virtualenv of its own (``bench/_dot.py`` makes it), never imported by the portal.
Django's startproject middleware, DEBUG off, and the database the portal's benchmark uses
(``DOT_DATABASE_URL``: ``sqlite:///path`` with the same WAL and IMMEDIATE settings as the portal,
or ``postgres://user@host:port/name`` with persistent connections like the portal's).
"""

import os
from urllib.parse import urlsplit

SECRET_KEY = "dot-bench-only-" + "x" * 50
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "dotbench.urls"
WSGI_APPLICATION = "dotbench.wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TEMPLATES = []

_url = urlsplit(os.environ["DOT_DATABASE_URL"])
if _url.scheme == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _url.path,
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _url.path.lstrip("/"),
            "USER": _url.username or "postgres",
            "PASSWORD": _url.password or "",
            "HOST": _url.hostname or "127.0.0.1",
            "PORT": _url.port or 5432,
            "CONN_MAX_AGE": 60,
        }
    }

OAUTH2_PROVIDER = {"SCOPES": {"ledger:read": "Read the ledger"}}
LOGGING = {"version": 1, "root": {"level": "WARNING"}}
