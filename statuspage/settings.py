"""Settings, read from environment variables only.

With no variable set the service runs embedded: SQLite, local-memory cache, in-memory channel
layer, Celery tasks run in-process. `DATABASE_URL`, `REDIS_URL`, `CELERY_BROKER_URL`, `EMAIL_URL`
switch each part to its production engine. Insecure combinations refuse to start (see the end).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

INSECURE_DEFAULT_SECRET_KEY = "insecure-embedded-default-do-not-use-in-production"
EMBEDDED = "DATABASE_URL" not in env

DEBUG = env.bool("DEBUG", default=EMBEDDED)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public base URL, used in emails, feeds, the handout and anywhere a link leaves the request.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "statuspage",
    "incidents",
    "notifications",
    "statuspage.mirror",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "statuspage.urls"
WHITENOISE_AUTOREFRESH = DEBUG
WSGI_APPLICATION = "statuspage.wsgi.application"
ASGI_APPLICATION = "statuspage.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "statuspage.mirror.context.mirror",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the public page read while an engineer writes; a busy timeout instead of "locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
# Keep connections between requests: opening one (and SQLite's PRAGMAs) costs more than a page.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "statuspage",
        }
    }
    # Live updates: the pub/sub layer publishes one message per group send (fan-out happens in
    # each ASGI process) and needs only two Redis connections per process, so it never meets
    # redis-py's pool cap; its reads poll with their own timeout, not socket_timeout. Redis
    # pub/sub ignores database numbers: the prefix keeps installations on one Redis apart.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                    }
                ],
                "prefix": env.str(
                    "CHANNEL_LAYER_PREFIX",
                    default=f"statuspage-{urlsplit(REDIS_URL).path.strip('/') or '0'}",
                ),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: a broker switches to real workers; without one, tasks run in-process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://"
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}

# --- Maintenance clock and uptime rollup (issue 6) ---
# At second 0 of every minute; a tick that could not run within the minute is dropped (the
# next one does its work). Embedded mode has no beat: `manage.py run_maintenance_clock`.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE.update(
    {
        "maintenance-clock": {
            "task": "incidents.run_maintenance_clock",
            "schedule": crontab(),
            "options": {"expires": 55},
        },
        "uptime-rollup": {
            "task": "incidents.roll_up_uptime",
            "schedule": crontab(minute="*/15"),
            "options": {"expires": 600},
        },
    }
)
# --- end maintenance clock ---

# Mail: EMAIL_URL (smtp://user:pass@host:587/?tls=1); embedded default writes files to var/mail/.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="status@example.com")

# --- Email notifications (notifications app): the outbox and its periodic sweep -------------
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
NOTIFICATIONS_BATCH_SIZE = env.int("NOTIFICATIONS_BATCH_SIZE", default=500)
NOTIFICATIONS_LEASE_SECONDS = env.int("NOTIFICATIONS_LEASE_SECONDS", default=300)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.int("NOTIFICATIONS_RETRY_BASE_SECONDS", default=30)
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=8)
NOTIFICATIONS_BOUNCE_LIMIT = env.int("NOTIFICATIONS_BOUNCE_LIMIT", default=3)
NOTIFICATIONS_CONFIRM_MAX_AGE = env.int("NOTIFICATIONS_CONFIRM_MAX_AGE", default=3 * 24 * 3600)
# Subscribe form: attempts per hour from one IP address and for one email address.
NOTIFICATIONS_SUBSCRIBE_RATE_IP = env.int("NOTIFICATIONS_SUBSCRIBE_RATE_IP", default=10)
NOTIFICATIONS_SUBSCRIBE_RATE_EMAIL = env.int("NOTIFICATIONS_SUBSCRIBE_RATE_EMAIL", default=3)
# A killed worker's unacknowledged tasks come back after this many seconds (Redis broker).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_BEAT_SCHEDULE["notifications-requeue-deliveries"] = {
    "task": "notifications.tasks.requeue_deliveries",
    "schedule": env.float("NOTIFICATIONS_REQUEUE_SECONDS", default=60.0),
}
# --- end of email notifications -------------------------------------------------------------

# --- The static mirror (issue 13): the standby copy on independent hosting ------------------
# Comma-separated targets: file:///srv/statuspage-mirror (a directory nginx serves) and/or
# s3://bucket/prefix (credentials and endpoint the boto3 way: AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL). Empty: no mirror.
MIRROR_TARGETS = env.list("MIRROR_TARGETS", default=[])
# Where visitors reach the mirror (its own host or CDN); the live page's script falls back to
# its live.json when the app is unreachable.
MIRROR_PUBLIC_URL = env.str("MIRROR_PUBLIC_URL", default="").rstrip("/")
# A burst of changes within this many seconds gives one publish.
MIRROR_DEBOUNCE_SECONDS = env.float("MIRROR_DEBOUNCE_SECONDS", default=0.5)
# Republish this often even without changes: the mirror's heartbeat.
MIRROR_HEARTBEAT_SECONDS = env.int("MIRROR_HEARTBEAT_SECONDS", default=120)
# A mirror whose heartbeat is older than this tells visitors we may be having a larger outage.
MIRROR_STALE_SECONDS = env.int("MIRROR_STALE_SECONDS", default=600)
# A failing target is retried after 30 s, 60 s, ... up to this many seconds.
MIRROR_RETRY_MAX_SECONDS = env.int("MIRROR_RETRY_MAX_SECONDS", default=900)
CELERY_BEAT_SCHEDULE["mirror-heartbeat"] = {
    "task": "mirror.publish",
    "schedule": float(MIRROR_HEARTBEAT_SECONDS),
    "options": {"expires": MIRROR_HEARTBEAT_SECONDS},
}
# --- end of the static mirror ---------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("nl", _("Dutch"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "statuspage_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Status page API",
    "DESCRIPTION": "Statuspage-compatible management API (v1) and public API (v2).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # API docs (issue 3): Swagger UI and Redoc from the sidecar package's static files, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ComponentStatusEnum": "incidents.models.ComponentStatus",
        "IncidentStatusEnum": "incidents.models.IncidentStatus",
        "ImpactEnum": "incidents.models.Impact",
        "IncidentUpdateStatusEnum": "incidents.api.serializers.INCIDENT_STATUS_CHOICES",
        "TemplateImpactEnum": "incidents.api.serializers.TEMPLATE_IMPACT_CHOICES",
    },
}
# The management API refuses request bodies larger than this (413).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)

# Opt-in hardening for deployments behind TLS: each is its own switch, never implied by DEBUG.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind a reverse proxy every visitor comes from the proxy's address: with this on, the rate
# limits of the public forms count the address the proxy puts last in X-Forwarded-For.
USE_X_FORWARDED_FOR = env.bool("USE_X_FORWARDED_FOR", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# How long a public snapshot may be served from a shared cache before revalidating (seconds).
PUBLIC_CACHE_SECONDS = env.int("PUBLIC_CACHE_SECONDS", default=10)


def _is_local_host(host: str) -> bool:
    host = host.strip().lstrip(".").strip("[]")
    if host in {"localhost", "testserver"} or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def production_safety_errors(
    *, debug: bool, secret_key: str, allowed_hosts: list[str]
) -> list[str]:
    """Say, per setting, why this combination must not serve the public."""
    errors = []
    public = [h for h in allowed_hosts if not _is_local_host(h)]
    if debug and public:
        errors.append(
            "DEBUG is on while ALLOWED_HOSTS names public hosts "
            f"({', '.join(public)}): set DEBUG=0, or list only local hosts."
        )
    if not debug:
        if not secret_key:
            errors.append("SECRET_KEY is not set: give it a long random value.")
        elif secret_key == INSECURE_DEFAULT_SECRET_KEY or len(secret_key) < 32:
            errors.append("SECRET_KEY is the default or shorter than 32 characters.")
    return errors


_errors = production_safety_errors(debug=DEBUG, secret_key=SECRET_KEY, allowed_hosts=ALLOWED_HOSTS)
if _errors:
    raise ImproperlyConfigured("Refusing to start: " + " ".join(_errors))
