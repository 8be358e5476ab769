"""Settings, read from the environment through django-environ.

Production is the default: ``DEBUG`` is off, every ``check --deploy`` protection is on, and the
settings refuse to start without a real ``SECRET_KEY``, ``CREDENTIAL_SECRET_PEPPER`` and
``SIGNING_KEY_ENCRYPTION_KEYS``. ``GOVERNANCE_EMBEDDED=true`` (set by ``bin/up`` and the test
suite) is the one-machine mode over plain HTTP on loopback: a ``SECRET_KEY`` generated once and
kept under ``var/``, development keys for the pepper and the signing-key wrap, no HTTPS
redirect. Production safety does not hang on remembering to switch something off.
"""

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from governance import logs
from governance.api_settings import REST_FRAMEWORK, SPECTACULAR_SETTINGS  # noqa: F401
from governance.email_settings import email_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(env.str("GOVERNANCE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded database and broker live here

# The one-machine mode of bin/up and the tests (see the module docstring). Off unless asked for.
EMBEDDED = env.bool("GOVERNANCE_EMBEDDED", default=False)
DEBUG = env.bool("DEBUG", default=False)


def _embedded_secret_key() -> str:
    """The embedded mode's SECRET_KEY: generated on first start, kept in var/ (mode 0600)."""
    path = VAR_DIR / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:  # the first process to start writes it; the others read it
        f.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or (_embedded_secret_key() if EMBEDDED else "")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a strong value (at least 50 characters), "
        "or GOVERNANCE_EMBEDDED=true for the one-machine mode"
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The issuer identifier (RFC 8414): the public base URL of this server, without a trailing slash.
OAUTH_ISSUER = env.str("OAUTH_ISSUER", default="http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_celery_beat",
    "csp",
    "audit",
    "agents",
    "credentials",
    "trust",
    # The project package itself: its management commands (sync_schedule, demo_data, agents)
    # and static files (portal CSS) are found only if it is an installed app.
    "governance",
    "governance.decisions",
    "governance.approvals",
    "governance.reviews",
    "governance.grants",
    "governance.portal",
    # After audit: audit's receiver of a failed sign-in runs before axes' own, so it tells a
    # refusal of a locked account from the failure that locks it (audit/auth_logins.py).
    "axes",
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics, before the host check and the HTTPS redirect (probes).
    "governance.ops.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, auth and messages middlewares, skipped on the machine-to-machine
    # endpoints whose callers never use a cookie (see governance/decisions/middleware.py).
    "governance.decisions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "governance.decisions.middleware.AuthenticationMiddleware",
    "governance.decisions.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every response (django-csp's, its header built once: the
    # policy is below).
    "governance.security.csp.CSPMiddleware",
    # An authenticated session past its absolute lifetime is ended (SESSION_MAX_AGE below).
    "governance.security.sessions.SessionLifetimeMiddleware",
    "audit.middleware.AuditContextMiddleware",
    # Last: django-axes answers a locked-out login attempt (see AXES_* below).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'governance.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the single writer; IMMEDIATE avoids lock-upgrade deadlocks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # Off by default: the check is a SELECT 1 before every request (a third of the round trips
    # of a token request). A connection that errors is closed at the end of its request anyway.
    DATABASES["default"].setdefault(
        "CONN_HEALTH_CHECKS", env.bool("DB_CONN_HEALTH_CHECKS", default=False)
    )
# Keep connections on both engines: closing the last one to a SQLite WAL database checkpoints and
# fsyncs, which a request would then wait for every time.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": env.cache_url("CACHE_URL", default=REDIS_URL or "locmemcache://governance-default"),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: django-axes refuses a locked-out account or address before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous gets nothing.
GUARDIAN_RAISE_403 = False
LOGIN_URL = "/portal/login/"
LOGIN_REDIRECT_URL = "/portal/"
LOGOUT_REDIRECT_URL = "/portal/login/"

# Error reports (admin mails, the DEBUG page) hide every variable whose name says secret.
DEFAULT_EXCEPTION_REPORTER_FILTER = "governance.security.reports.SecretNamesReporterFilter"

# Sessions are policy: a session ends SESSION_MAX_AGE seconds after sign-in however busy it is
# (governance/security/sessions.py), and after SESSION_IDLE_TIMEOUT seconds without a request
# (the cookie and the row are renewed on every request). Django's default was 14 days.
SESSION_MAX_AGE = env.int("SESSION_MAX_AGE", default=8 * 3600)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=3600)
SESSION_COOKIE_AGE = min(SESSION_IDLE_TIMEOUT, SESSION_MAX_AGE)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Failed human sign-ins (portal and admin), django-axes: after AXES_FAILURE_LIMIT failures
# for one username, or for one address, further attempts are refused for AXES_COOLOFF_MINUTES
# with a lock-out page, even with the right password. Every failure and lock-out is audited
# (audit/auth_logins.py). Counters live in the database (axes' own tables), shared by every
# web process. The address is the connection's (REMOTE_ADDR); behind a proxy set
# AXES_IPWARE_META_PRECEDENCE_ORDER as axes documents.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each alone: per account, per address
AXES_LOCKOUT_TEMPLATE = "lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # successes are in our audit log (user.login)
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_VERBOSE = False

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or EMBEDDED
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# The embedded mode serves static files straight from the apps (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED

# The largest page any list endpoint returns (``?limit=`` above it is clamped).
API_MAX_PAGE_SIZE = 200
# REST_FRAMEWORK and SPECTACULAR_SETTINGS: governance/api_settings.py (imported above).

# Celery: JSON only, time limits everywhere, tasks acknowledged after they finish.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker" / "out"),
        "data_folder_out": str(VAR_DIR / "broker" / "out"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        # Broadcasts (worker control, mingle) go here; kombu's default is ./control in the CWD.
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem://")
    # Redis: a task taken by a worker that then died outright (acknowledged late, so never
    # acknowledged) goes back to the queue once it has waited this long; above every time limit.
    else {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
)
for _folder in {v for k, v in CELERY_BROKER_TRANSPORT_OPTIONS.items() if "folder" in k}:
    # kombu's filesystem transport lists these folders but does not create them.
    Path(_folder).mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The queue beat and the services send to and the workers consume: deployments sharing one
# Redis database keep apart by it.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
# django-celery-beat's DatabaseScheduler that sends only while it holds the beat lock.
CELERY_BEAT_SCHEDULER = "governance.beat.scheduler:SingleBeatScheduler"
CELERY_TIMEZONE = TIME_ZONE

# Email (notices): EMAIL_URL, the EMAIL_HOST family, or files under var/mail/ by default
# (governance/email_settings.py says which wins).
vars().update(email_settings(env, VAR_DIR))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)  # seconds; a hung server fails the attempt
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Agent governance <governance@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Secrets of the credential service. The pepper keys the HMAC of client secrets; the
# encryption keys (Fernet, newest first) wrap the platform signing keys at rest.
CREDENTIAL_SECRET_PEPPER = env.str(
    "CREDENTIAL_SECRET_PEPPER", default="dev-only-pepper-" + "0" * 48
)
SIGNING_KEY_ENCRYPTION_KEYS = env.list(
    "SIGNING_KEY_ENCRYPTION_KEYS",
    # A fixed development key: used only in the embedded mode (see below).
    default=["ZGV2LW9ubHktc2lnbmluZy1rZXktd3JhcC1rZXktMDA="],
)
if not EMBEDDED and (
    CREDENTIAL_SECRET_PEPPER.startswith("dev-only")
    or "ZGV2LW9ubHktc2lnbmluZy1rZXktd3JhcC1rZXktMDA=" in SIGNING_KEY_ENCRYPTION_KEYS
):
    raise ImproperlyConfigured(
        "CREDENTIAL_SECRET_PEPPER and SIGNING_KEY_ENCRYPTION_KEYS must be set "
        "(or GOVERNANCE_EMBEDDED=true for the one-machine mode)"
    )

# The audit log signs checkpoints with the platform key and verifies them against its JWKS;
# `audit` imports no other app, so the two callables are named here.
AUDIT_CHECKPOINT_SIGNER = "governance.auditlog.keys.sign_checkpoint"
AUDIT_JWKS_PROVIDER = "governance.auditlog.keys.public_jwks"
# Policy: the newest signed checkpoint is at most this old (seconds). The checkpoint task
# re-signs an unchanged head after half of it; `audit verify` and /readyz fail beyond it.
AUDIT_CHECKPOINT_MAX_AGE = env.int("AUDIT_CHECKPOINT_MAX_AGE", default=600)
# Policy: a committed entry waits at most this long (seconds) for the sequencer.
AUDIT_SEQUENCER_MAX_LAG = env.int("AUDIT_SEQUENCER_MAX_LAG", default=30)
# Where every signed checkpoint is also written, outside the database: an append-only JSON
# Lines file (a path or file://) or an HTTP(S) endpoint (POST; GET lists them). Empty: none.
AUDIT_WITNESS_URL = env.str("AUDIT_WITNESS_URL", default="")
AUDIT_WITNESS_TOKEN = env.str("AUDIT_WITNESS_TOKEN", default="")  # bearer token for its POST

# Shared counters for rate limits and budgets: "redis" (REDIS_URL) or "database".
RATE_LIMIT_BACKEND = env.str("RATE_LIMIT_BACKEND", default="redis" if REDIS_URL else "database")
# Key prefix of those counters: separates deployments (or test runs) sharing one Redis.
RATE_LIMIT_PREFIX = env.str("RATE_LIMIT_PREFIX", default="gov:ctr")

# Per-process caches of the token and decision fast paths (credentials/process_caches.py).
# PROCESS_CACHES=off turns every one off: each request reads everything from the database.
PROCESS_CACHES = env.bool("PROCESS_CACHES", default=True)

# Failed client authentications tolerated per window, (failures, seconds): beyond them the
# claimed client id or the source address waits (429). See docs/oauth.md.
CREDENTIAL_AUTH_FAILURES_PER_CLIENT = (
    env.int("CREDENTIAL_AUTH_FAILURES_PER_CLIENT", default=20),
    env.int("CREDENTIAL_AUTH_FAILURES_WINDOW_SECONDS", default=300),
)
CREDENTIAL_AUTH_FAILURES_PER_ADDRESS = (
    env.int("CREDENTIAL_AUTH_FAILURES_PER_ADDRESS", default=100),
    env.int("CREDENTIAL_AUTH_FAILURES_WINDOW_SECONDS", default=300),
)
# Refused attestation submissions tolerated per source address and window (refusals,
# seconds): beyond them the address waits (429), which bounds what it can write to the audit log.
ATTESTATION_REFUSALS_PER_ADDRESS = (
    env.int("ATTESTATION_REFUSALS_PER_ADDRESS", default=30),
    env.int("ATTESTATION_REFUSALS_WINDOW_SECONDS", default=300),
)

# Platform signing keys: the algorithm of new keys, how old the current key gets before the
# next one takes over, and how long the next key is published before it signs (more than the
# JWKS max-age, so every verifier has it first).
SIGNING_KEY_ALGORITHM = env.str("SIGNING_KEY_ALGORITHM", default="ES256")
SIGNING_KEY_ROTATION_DAYS = env.int("SIGNING_KEY_ROTATION_DAYS", default=30)
SIGNING_KEY_PUBLISH_LEAD_SECONDS = env.int("SIGNING_KEY_PUBLISH_LEAD_SECONDS", default=3600)

# The unit of connection budgets and decision costs, shown next to every amount in the portal.
BUDGET_UNIT = env.str("BUDGET_UNIT", default="EUR")
# False: decisions commit with synchronous_commit off (PostgreSQL) — see docs/decisions.md.
DECISIONS_DURABLE_AUDIT = env.bool("DECISIONS_DURABLE_AUDIT", default=True)

if not EMBEDDED:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp) on every response: scripts, styles, fonts and images
# only from this origin, never inline, no plugins, no framing, forms post only here. The
# portal, the admin, Redoc and Swagger UI have no inline script (their templates are ours,
# templates/drf_spectacular/); the API docs pages relax style-src for the inline styles their
# bundles inject (governance/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Probes and metrics (governance/ops/). /metrics answers a bearer METRICS_TOKEN or an address in
# METRICS_ALLOWED_IPS (addresses or networks); with neither, loopback only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
try:
    [ipaddress.ip_network(n, strict=False) for n in METRICS_ALLOWED_IPS]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from exc

# Logs: JSON lines in production, text on the embedded default; every line carries the request
# id that the request's audit entries carry (governance/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG or EMBEDDED else "json")
LOGGING = logs.config(fmt=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))
