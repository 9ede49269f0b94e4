"""Colophon settings: one base module, configured only from the environment (django-environ).

Secrets may also be given as ``<NAME>_FILE`` pointing at a file holding the value.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The checkout's .env is for make run and manage.py (make run writes DEBUG=true there); the test
# settings (COLOPHON_TESTING) never read it, so `make run` then `make test` tests the defaults.
if not env.bool("COLOPHON_TESTING", default=False):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def secret(name: str, default: str = "") -> str:
    """Read a secret from NAME or from the file named by NAME_FILE."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return str(env.str(name, default=default))


DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("COLOPHON_TESTING", default=False)

SECRET_KEY = secret("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE) in the environment; "
            "a development key is only used when DEBUG=true."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_q",
    "axes",
    "csp",
    "accounts",
    "integration",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RefuseNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentImprintMiddleware",
    "config.middleware.StyledNotFoundMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the worker share the embedded database.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle sessions end after SESSION_IDLE_MINUTES without a request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less hx-headers instead
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = not DEBUG and not TESTING
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG and not TESTING)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG or TESTING else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"  # preview views opt in with @xframe_options_sameorigin

# Login throttling (django-axes): lock an e-mail + address pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Content Security Policy (django-csp): our own scripts and styles only; HTML previews rendered
# by Exstream are shown in a sandboxed iframe served by us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:"],
        "frame-src": ["'self'", "blob:"],
        "object-src": ["'self'"],
        "frame-ancestors": ["'self'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

# WhiteNoise serves collected files in production; in development runserver serves them.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Hard limit on the files of one request, enforced while they stream in (400 beyond it); each
# upload form has its own, lower limit with a readable message (integration/lib/uploads.py).
FILE_UPLOAD_MAX_BYTES = env.int("FILE_UPLOAD_MAX_BYTES", default=60 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "integration.lib.uploads.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.console.EmailBackend"
        if DEBUG
        else "django.core.mail.backends.smtp.EmailBackend"
    ),
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="colophon@localhost")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "accounts.masking.SecretMaskingFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # runserver's access log; set ACCESS_LOG_LEVEL=INFO to see every request.
        "django.server": {"level": env.str("ACCESS_LOG_LEVEL", default="WARNING")},
    },
}

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api.PolicyPermission"],
    # DRF's defaults, with a JSON parser that refuses NUL characters (PostgreSQL stores none).
    "DEFAULT_PARSER_CLASSES": [
        "accounts.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "accounts.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/minute"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Colophon API",
    "DESCRIPTION": "Consonance ↔ OpenText Exstream communications: titles, setup, "
    "communications, approvals, timeline and outstanding actions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/schema/ and /api/docs/ need a signed-in user, except in local development.
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.AllowAny"
        if DEBUG
        else "rest_framework.permissions.IsAuthenticated"
    ],
    # Swagger UI and Redoc from our own static files (the CSP allows no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        # Hand-entered message statuses (contributor responses, returned mail).
        "HandEnteredStatusEnum": "integration.api.status.HAND_STATUSES",
        # Print, e-mail, SMS, secure web: one name wherever a channel is chosen.
        "ChannelEnum": "integration.models.setup.Channel",
    },
}

# --- Background work (django-q2, ORM broker on the default database) ---------------------------
Q_CLUSTER = {
    "name": "colophon",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=600),
    "retry": env.int("Q_RETRY", default=720),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=3),
    "ack_failures": True,
    "save_limit": 500,
    "catch_up": False,
    "poll": 0.5,
    "label": "Tasks",
}

# --- External systems ---------------------------------------------------------------------------
# With a URL unset, each connector talks over real HTTP to the built-in sandbox, served by this
# app under /sandbox/ at SANDBOX_BASE_URL — only when SANDBOX_ENABLED (on under `make run` and in
# the tests, off by default: production never serves the sandbox's URLs). The sandbox app stays
# installed either way so its tables and migrations stay consistent; only its URLs are unmounted.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)
SANDBOX_BASE_URL = env.str("SANDBOX_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CONSONANCE_URL = env.str("CONSONANCE_URL", default="").rstrip("/")
CONSONANCE_API_KEY = secret("CONSONANCE_API_KEY")
CONSONANCE_SYNC_MINUTES = env.int("CONSONANCE_SYNC_MINUTES", default=15)
# Fetch the next page while storing the current one (one request in flight).
CONSONANCE_PREFETCH = env.bool("CONSONANCE_PREFETCH", default=True)
# Where a sync reads products: "graphql" (works with their products, the default; falls back to
# REST v4 by itself when Consonance's GraphQL endpoint is gone) or "rest" (always the legacy
# REST v4 products endpoint; work and contract data then stay as last synced).
CONSONANCE_PRODUCTS_SOURCE = env.str("CONSONANCE_PRODUCTS_SOURCE", default="graphql").lower()
if CONSONANCE_PRODUCTS_SOURCE not in ("graphql", "rest"):
    raise ImproperlyConfigured(
        "CONSONANCE_PRODUCTS_SOURCE must be 'graphql' or 'rest', "
        f"not {CONSONANCE_PRODUCTS_SOURCE!r}."
    )
EXSTREAM_URL = env.str("EXSTREAM_URL", default="").rstrip("/")
EXSTREAM_TOKEN_URL = env.str("EXSTREAM_TOKEN_URL", default="")
EXSTREAM_TENANT = env.str("EXSTREAM_TENANT", default="")
EXSTREAM_CLIENT_ID = env.str("EXSTREAM_CLIENT_ID", default="")
EXSTREAM_CLIENT_SECRET = secret("EXSTREAM_CLIENT_SECRET")
EXSTREAM_DOMAIN = env.str("EXSTREAM_DOMAIN", default="production")
EXSTREAM_PREVIEW_DOMAIN = env.str("EXSTREAM_PREVIEW_DOMAIN", default="preview")
EXSTREAM_BATCH_CHANNEL = env.str("EXSTREAM_BATCH_CHANNEL", default="colophon-batch")
# Standard Webhooks secrets (whsec_...); a comma-separated second value is accepted in rotation.
EXSTREAM_EVENTS_SECRET = secret("EXSTREAM_EVENTS_SECRET")
# --- Communications -----------------------------------------------------------------------------
# Messages per Exstream batch submission (one outbox row each).
COMMUNICATION_DISPATCH_CHUNK = env.int("COMMUNICATION_DISPATCH_CHUNK", default=500)
# Composing with no progress for this long is shown as stalled; the drafter or an imprint admin
# may restart it.
COMMUNICATION_COMPOSE_STALLED_MINUTES = env.int("COMMUNICATION_COMPOSE_STALLED_MINUTES", default=5)
# The scheduled sweep restarts compositions stalled this long, at most MAX_RESTARTS times each,
# then puts them back to draft with the reason.
COMMUNICATION_COMPOSE_SWEEP_MINUTES = env.int("COMMUNICATION_COMPOSE_SWEEP_MINUTES", default=15)
COMMUNICATION_COMPOSE_MAX_RESTARTS = env.int("COMMUNICATION_COMPOSE_MAX_RESTARTS", default=3)
# The address staff use, for absolute links in e-mails (e.g. "awaiting your approval"). Set it
# in production; with DEBUG on (make run) it defaults to the local app's own address.
SITE_URL = env.str("SITE_URL", default="").rstrip("/") or (SANDBOX_BASE_URL if DEBUG else "")
HTTP_TIMEOUT_SECONDS = env.float("HTTP_TIMEOUT_SECONDS", default=15.0)
HTTP_MAX_RETRIES = env.int("HTTP_MAX_RETRIES", default=3)
HTTP_RETRY_BASE_SECONDS = env.float("HTTP_RETRY_BASE_SECONDS", default=0.5)
HTTP_RETRY_MAX_SECONDS = env.float("HTTP_RETRY_MAX_SECONDS", default=30.0)
