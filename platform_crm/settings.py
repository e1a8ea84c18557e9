"""Platform CRM settings, read from the environment (see .env.example for every variable)."""

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from django.utils.csp import CSP

# Lets generic Django classes be subscripted at run time too (ModelAdmin[Contact], QuerySet[...]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a developer convenience; production sets real environment variables.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    # Only DEBUG may fall back to a throwaway key; production must set one (checks.py says so).
    default="dev-only-insecure-secret-key-change-me" if DEBUG else "",
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base URL of this site, for links in emails and OAuth redirect URIs.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # Django's widget templates, for FORM_RENDERER below
    "django.contrib.postgres",  # its GIN index and tsvector field (contact search)
    "django_htmx",
    "axes",
    "platform_crm",
    "contacts",
    "taxes",
    "invoices",
    "xero_sync",
    "demo",  # development data (`load_demo_data`); nothing imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "invoices.history.HistoryMiddleware",
    # Last, as django-axes asks: answers a locked-out login with the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Widgets render with the project's templates (templates/), like every page: the contact
# picker's widget template lives with its app's other templates.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

ROOT_URLCONF = "platform_crm.urls"
WSGI_APPLICATION = "platform_crm.wsgi.application"

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
                "platform_crm.context_processors.tenancy",
            ],
        },
    },
]

# The invoice form at its 200-line maximum (invoices.forms.MAX_LINES) posts 200 rows of 7
# fields plus its header, management form and CSRF token: about 1,410 fields, past Django's
# default of 1,000 (which refused 165 lines and more with a bare 400). 2,000 leaves room for a
# few more fields per line; tests/invoices/test_views.py checks that the form still fits.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/platform_crm"
    ),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth and sessions ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: a locked-out username or address is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT failed logins for one username, or
# from one address, either is locked out for LOGIN_LOCKOUT_MINUTES. An admin lifts a lockout by
# deleting its Access attempt in /admin/ or with `manage.py axes_reset_username NAME`.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each counted on its own
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "platform_crm.login_throttle.client_address"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Security (production values come from the environment) -----------------------------
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Behind a TLS-terminating proxy (docker-compose, a load balancer) the scheme arrives in a header.
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Internationalisation ----------------------------------------------------------------
LANGUAGE_CODE = "en-nz"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (served by the app itself through whitenoise; no CDN) -----------------
STATIC_URL = "static/"
STATIC_ROOT: Path | None = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Email ------------------------------------------------------------------------------
# consolemail:// in development, memorymail:// in tests,
# smtp+tls://user:pass@host:587 in production.
_email = env.email_url("EMAIL_URL", default="consolemail://")
# Django 6.1 configures mail through MAILERS; django-environ still speaks EMAIL_* names.
_email_options = {
    "host": _email.get("EMAIL_HOST"),
    "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS"),
    "use_ssl": _email.get("EMAIL_USE_SSL"),
    "file_path": _email.get("EMAIL_FILE_PATH"),
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {k: v for k, v in _email_options.items() if v not in (None, "")},
    }
}
if "smtp" in MAILERS["default"]["BACKEND"]:
    MAILERS["default"]["OPTIONS"]["timeout"] = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Platform CRM <crm@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Redis and Celery -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# Short-lived copies of what Xero said (chart of accounts, tax rates), shared by all processes.
# A cache that cannot be reached is a miss, never an error (django-redis IGNORE_EXCEPTIONS,
# each one logged): while Redis is down, pages read Xero or the database instead of failing.
CACHES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": "crm",
        "TIMEOUT": 600,
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 2,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# Dev-only fallback broker when no Redis can be had (see scripts/dev_env.py).
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    # Longer than the longest task (hard limit below), or Redis hands a running task to a
    # second worker before the first one has acknowledged it.
    "visibility_timeout": 60 * 60,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = BASE_DIR / "var" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
    }
# Beat keeps its schedule and its single-beat lock in Redis (celery-redbeat, see
# platform_crm/beat_scheduler.py); the dev-only filesystem broker has no Redis, so there the
# one beat keeps its schedule in a file.
CELERY_BEAT_SCHEDULER = (
    "celery.beat:PersistentScheduler"
    if CELERY_BROKER_URL.startswith("filesystem://")
    else "platform_crm.beat_scheduler:Scheduler"
)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=14 * 60)

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json: one JSON object a line, for log shippers (the default in production); plain: for people.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ValueError(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # Extra fields passed to a log call (account_id, connection_id, ...) become JSON keys.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    # Lines written while a Celery task runs carry its name, id and id arguments.
    "filters": {"task_context": {"()": "platform_crm.task_logging.TaskContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["task_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- Xero ---------------------------------------------------------------------------------
# The app's credentials from developer.xero.com (or the sandbox's, in development and tests).
XERO_CLIENT_ID = env.str("XERO_CLIENT_ID", default="")
XERO_CLIENT_SECRET = env.str("XERO_CLIENT_SECRET", default="")
XERO_WEBHOOK_KEY = env.str("XERO_WEBHOOK_KEY", default="")
XERO_REDIRECT_URI = env.str("XERO_REDIRECT_URI", default=f"{SITE_URL}/xero/callback/")
# Granular scopes (Xero apps created from March 2026 may only use these).
XERO_SCOPES = env.list(
    "XERO_SCOPES",
    default=[
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.contacts",
        "accounting.settings",
        "accounting.invoices",
        "accounting.payments",
    ],
)
# Only base URLs differ between real Xero and the sandbox. XERO_SANDBOX_URL points them all at
# a running sandbox (make dev sets it); otherwise each defaults to real Xero.
_xero_sandbox = env.str("XERO_SANDBOX_URL", default="").rstrip("/")
XERO_AUTHORIZE_URL = env.str(
    "XERO_AUTHORIZE_URL",
    default=f"{_xero_sandbox}/identity/connect/authorize"
    if _xero_sandbox
    else "https://login.xero.com/identity/connect/authorize",
)
XERO_TOKEN_URL = env.str(
    "XERO_TOKEN_URL",
    default=f"{_xero_sandbox}/connect/token"
    if _xero_sandbox
    else "https://identity.xero.com/connect/token",
)
XERO_REVOKE_URL = env.str(
    "XERO_REVOKE_URL",
    default=f"{_xero_sandbox}/connect/revocation"
    if _xero_sandbox
    else "https://identity.xero.com/connect/revocation",
)
XERO_IDENTITY_API_URL = env.str(
    "XERO_IDENTITY_API_URL", default=_xero_sandbox or "https://api.xero.com"
)
XERO_ACCOUNTING_API_URL = env.str(
    "XERO_ACCOUNTING_API_URL",
    default=f"{_xero_sandbox or 'https://api.xero.com'}/api.xro/2.0",
)
# Where "Open in Xero" links go ({tenant_id} and {invoice_id} are filled in).
XERO_INVOICE_URL = env.str(
    "XERO_INVOICE_URL",
    default=f"{_xero_sandbox}/orgs/{{tenant_id}}/invoices/{{invoice_id}}"
    if _xero_sandbox
    else "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={invoice_id}",
)
# Fernet keys for tokens at rest, comma-separated; the first encrypts, all decrypt (rotation:
# put the new key first, re-encrypt with `manage.py xero_rotate_token_keys`, drop the old one).
XERO_TOKEN_KEYS = env.list("XERO_TOKEN_KEYS", default=[])
# Seconds: connect and read timeouts on every Xero call.
XERO_CONNECT_TIMEOUT = env.float("XERO_CONNECT_TIMEOUT", default=5.0)
XERO_READ_TIMEOUT = env.float("XERO_READ_TIMEOUT", default=30.0)
# Per-organisation limits we keep under (Xero's: 5 in flight, 60 a minute). The day's
# allowance is not set here: it is what Xero reports is left (1,000 or 5,000 a day by plan).
XERO_MAX_CONCURRENT_CALLS = env.int("XERO_MAX_CONCURRENT_CALLS", default=5)
XERO_CALLS_PER_MINUTE = env.int("XERO_CALLS_PER_MINUTE", default=60)
# Xero's app-wide limit: calls a minute across every organisation and every worker.
XERO_APP_CALLS_PER_MINUTE = env.int("XERO_APP_CALLS_PER_MINUTE", default=10000)
# A wait for a rate limit up to this many seconds is slept; a longer one is scheduled.
XERO_MAX_INLINE_WAIT = env.float("XERO_MAX_INLINE_WAIT", default=3.0)
# A drain or import task hands its worker back after this long (at least one batch or page)
# and queues its own next turn behind other work: one organisation's burst or import never
# keeps the workers from the others. bench/platform_load.py at 1,000 organisations, quiet
# save → in Xero p50/p95 with bursts and imports running: 22.3/78.4 s when a task did an
# organisation's whole job; 0.17/4.0 s with 5 s turns; 0.11/1.8 s with 1 s turns, the heavy
# work finishing no later.
XERO_TASK_TURN_SECONDS = env.float("XERO_TASK_TURN_SECONDS", default=1.0)
# Seconds a contact import or webhook delivery may sit without progress (and, for an import,
# without a live task) before beat's sweep queues it again: its message was lost.
XERO_STALLED_AFTER = env.float("XERO_STALLED_AFTER", default=120.0)
# Days without activity before an integration is disconnected, and the warning before it.
XERO_INACTIVITY_DAYS = env.int("XERO_INACTIVITY_DAYS", default=60)
XERO_INACTIVITY_WARNING_DAYS = env.int("XERO_INACTIVITY_WARNING_DAYS", default=7)

# --- Content-Security-Policy (Django's own, on every response) --------------------------------
# Scripts and styles come only from our origin (htmx and our JS are served by the app): no
# inline script, style or event handler anywhere, so an injected one never runs. Forms may only
# post to us, and to Xero's consent page, which Connect's POST redirects to.
_xero_authorize = urlsplit(XERO_AUTHORIZE_URL)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF, f"{_xero_authorize.scheme}://{_xero_authorize.netloc}"],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
