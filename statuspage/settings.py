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
# Unset, a request's links use the address it came to (scheme, host and port) and links made
# outside a request (mails from a worker, the mirror) this default; `make run` sets it from
# HOST and PORT. Production sets it (README).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_URL_FROM_REQUEST = not env.str("SITE_URL", default="")

INSTALLED_APPS = [
    "daphne",
    # Before the admin: its admin/base_site.html adds the "degraded" banner (statuspage/health.py).
    "statuspage",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",  # the list of active sessions ("3 minutes ago")
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "csp",
    "incidents",
    "notifications",
    "statuspage.mirror",
    # Engineers' accounts (issue 17): sign-in, OpenID Connect, two-factor, active sessions.
    "statuspage.accounts",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "allauth.usersessions",
]

MIDDLEWARE = [
    # First: a public page's GET answered from this process's copy of its cached rendering,
    # with the headers the whole stack gave it (statuspage/fastpath.py, issue 18).
    "statuspage.fastpath.PublicPageFastPath",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Without SITE_URL, links made while handling a request name the request's own address.
    "statuspage.middleware.RequestSiteUrlMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The admin shows and reads times in the engineer's pages' time zone.
    "incidents.admin.timezones.AdminTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # After CSP: the hashes of the inline styles a template wrote (the page's accent colour).
    "statuspage.middleware.InlineStyleHashes",
    # After CSP: lets live.js reach the mirror's live.json (MIRROR_PUBLIC_URL) in connect-src.
    "statuspage.mirror.middleware.AllowMirrorOrigin",
    # A database that is down answers 503 (JSON for the API), never an HTML 500.
    "statuspage.middleware.PartUnavailableMiddleware",
    # Engineers' accounts (issue 17): allauth's login flow state, active sessions, the idle
    # timeout, and REQUIRE_MFA in front of the admin (the last three on /admin/ and /accounts/
    # only, answering 503 themselves when the database is down).
    "allauth.account.middleware.AccountMiddleware",
    "statuspage.accounts.middleware.UserSessionsMiddleware",
    "statuspage.accounts.middleware.IdleTimeoutMiddleware",
    "statuspage.accounts.middleware.RequireMFAMiddleware",
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
                "csp.context_processors.nonce",
                "statuspage.health.degraded_parts",
                "statuspage.mirror.context.mirror",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the public page read while an engineer writes; a busy timeout instead of "locked".
    # IMMEDIATE transactions take the write lock when they begin: a transaction that read first
    # and then writes would otherwise fail at once with "database is locked" when another
    # thread (the outbox relay, the maintenance clock) writes at the same time.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# Keep connections between requests: opening one (and SQLite's PRAGMAs) costs more than a page.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that is down or unreachable fails fast instead of hanging a worker: libpq's
    # shortest connect timeout (2 s), keepalives, and a TCP user timeout that drops a
    # connection whose packets go unanswered (a network partition) after 5 s.
    DATABASES["default"].setdefault("OPTIONS", {})
    for _option, _value in {
        "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=2),
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 2,
        "tcp_user_timeout": 5000,
    }.items():
        DATABASES["default"]["OPTIONS"].setdefault(_option, _value)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis down or hanging is a cache miss after one short timeout, and no wait at
            # all while its circuit breaker is open (statuspage/cache.py).
            "BACKEND": "statuspage.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "statuspage",
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.25),
                "socket_timeout": env.float("REDIS_TIMEOUT", default=0.25),
            },
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
                        # Short timeouts: a push that cannot reach Redis fails fast and
                        # the relay sends it again (notifications/relay.py).
                        "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.25),
                        "socket_timeout": env.float("CHANNEL_LAYER_TIMEOUT", default=1.0),
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
        # Resolved alerts put their components back once their hold-down ran out (issue 15).
        "alert-hold-down": {
            "task": "incidents.restore_resolved_alerts",
            "schedule": 15.0,
            "options": {"expires": 14},
        },
    }
)
# --- end maintenance clock ---
# The outbox relay's backstop: events a process committed but could not publish (it died).
CELERY_BEAT_SCHEDULE["incidents-relay-events"] = {
    "task": "incidents.relay_events",
    "schedule": env.float("EVENTS_RELAY_SECONDS", default=5.0),
    "options": {"expires": 10},
}

# Mail: EMAIL_URL (smtp://user:pass@host:587/?tls=1); embedded default writes files to var/mail/.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="status@example.com")

# --- Email notifications (notifications app): the outbox and its periodic sweep -------------
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
NOTIFICATIONS_BATCH_SIZE = env.int("NOTIFICATIONS_BATCH_SIZE", default=500)
# A claimed batch is leased for this long and the lease is renewed (heartbeat) while it sends,
# so a killed worker's rows are free again within a lease and picked up by the next sweep.
NOTIFICATIONS_LEASE_SECONDS = env.int("NOTIFICATIONS_LEASE_SECONDS", default=15)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.int("NOTIFICATIONS_RETRY_BASE_SECONDS", default=30)
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=8)
NOTIFICATIONS_BOUNCE_LIMIT = env.int("NOTIFICATIONS_BOUNCE_LIMIT", default=3)
NOTIFICATIONS_CONFIRM_MAX_AGE = env.int("NOTIFICATIONS_CONFIRM_MAX_AGE", default=3 * 24 * 3600)
# Subscribe form: attempts per hour from one IP address and for one email address.
NOTIFICATIONS_SUBSCRIBE_RATE_IP = env.int("NOTIFICATIONS_SUBSCRIBE_RATE_IP", default=10)
NOTIFICATIONS_SUBSCRIBE_RATE_EMAIL = env.int("NOTIFICATIONS_SUBSCRIBE_RATE_EMAIL", default=3)
# A killed worker's unacknowledged tasks come back after this many seconds (Redis broker).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # A broker that is down or hangs fails a publish within seconds (the relay retries it)
    # instead of holding the thread that queues it.
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_BEAT_SCHEDULE["notifications-requeue-deliveries"] = {
    "task": "notifications.tasks.requeue_deliveries",
    "schedule": env.float("NOTIFICATIONS_REQUEUE_SECONDS", default=5.0),
}
# --- end of email notifications -------------------------------------------------------------

# --- Security (issue 11) ---------------------------------------------------------------------
# --- Engineers' accounts (issue 17) ------------------------------------------------------------
# Every sign-in (the admin's /admin/login/ sends people there) goes through django-allauth:
# a local account (the break-glass admin), or an OpenID Connect provider, then the second
# factor. Its rate limits are the one throttle: after SIGN_IN_FAILURE_LIMIT wrong passwords
# for one user name from one address (or wrong codes for one user), that pair waits
# SIGN_IN_COOLOFF_MINUTES and sees a page saying so, whether or not the account exists.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
SIGN_IN_FAILURE_LIMIT = env.int("SIGN_IN_FAILURE_LIMIT", default=5)
SIGN_IN_COOLOFF_MINUTES = env.int("SIGN_IN_COOLOFF_MINUTES", default=15)
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"{SIGN_IN_FAILURE_LIMIT}/{SIGN_IN_COOLOFF_MINUTES * 60}s/key",
}
ACCOUNT_ADAPTER = "statuspage.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "statuspage.accounts.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"  # no self sign-up; SSO users' addresses come verified
ACCOUNT_LOGOUT_REDIRECT_URL = "/accounts/login/"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/admin/"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_REAUTHENTICATION_REQUIRED = True
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
# An SSO sign-in with a verified address that a local account already has signs in as it.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
# OpenID Connect providers: OIDC_PROVIDERS=entra,google and for each NAME (upper case):
# OIDC_<NAME>_SERVER_URL (the issuer), OIDC_<NAME>_CLIENT_ID, OIDC_<NAME>_CLIENT_SECRET,
# OIDC_<NAME>_LABEL (the button's text), OIDC_<NAME>_ROLES_CLAIM (default "groups": values
# "<page slug>:<role>" give roles) and OIDC_<NAME>_DEFAULT_ROLES ("it:viewer,voice:responder",
# for people whose claim names none), OIDC_<NAME>_SCOPES (default "openid,email,profile"; add
# the scope that carries the roles claim if the provider needs one).
OIDC_PROVIDERS = env.list("OIDC_PROVIDERS", default=[])
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": _name.lower(),
                "name": env.str(f"OIDC_{_name.upper()}_LABEL", default=_name),
                "client_id": env.str(f"OIDC_{_name.upper()}_CLIENT_ID"),
                "secret": env.str(f"OIDC_{_name.upper()}_CLIENT_SECRET", default=""),
                "settings": {
                    "server_url": env.str(f"OIDC_{_name.upper()}_SERVER_URL"),
                    "roles_claim": env.str(f"OIDC_{_name.upper()}_ROLES_CLAIM", default="groups"),
                    "default_roles": env.list(f"OIDC_{_name.upper()}_DEFAULT_ROLES", default=[]),
                    "scope": env.list(
                        f"OIDC_{_name.upper()}_SCOPES", default=["openid", "email", "profile"]
                    ),
                },
            }
            for _name in OIDC_PROVIDERS
        ],
    }
}
# Two-factor: TOTP apps, passkeys (WebAuthn) and recovery codes.
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Status pages")
# Browsers allow WebAuthn on http://localhost only; this lets a local demo try passkeys.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=DEBUG)
# REQUIRE_MFA=1: a staff user with a local password reaches no admin page before adding a
# second factor; REQUIRE_MFA_FOR_SSO=1 asks it of SSO users too (else their provider's MFA).
REQUIRE_MFA = env.bool("REQUIRE_MFA", default=False)
REQUIRE_MFA_FOR_SSO = env.bool("REQUIRE_MFA_FOR_SSO", default=False)
# Customers' sign-in (issue 16): a one-time link by email (django-sesame), valid for
# SESAME_MAX_AGE seconds and once only; CUSTOMER_LINK_RATE links per address and
# CUSTOMER_LINK_RATE_PER_IP per sender address an hour. Customers are never staff.
SESAME_MAX_AGE = env.int("SESAME_MAX_AGE", default=15 * 60)
SESAME_ONE_TIME = True
SESAME_TOKEN_NAME = "sesame"
CUSTOMER_LINK_RATE = env.int("CUSTOMER_LINK_RATE", default=3)
CUSTOMER_LINK_RATE_PER_IP = env.int("CUSTOMER_LINK_RATE_PER_IP", default=10)

# Sessions: signed out after SESSION_IDLE_MINUTES without a request (0: never), and after
# SESSION_MAX_AGE_HOURS whatever happens; each user sees and ends their sessions at
# /accounts/sessions/.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=60)
SESSION_COOKIE_AGE = env.int("SESSION_MAX_AGE_HOURS", default=12) * 3600
USERSESSIONS_TRACK_ACTIVITY = True

# Content-Security-Policy (django-csp): scripts and <style> elements only from this site or
# carrying the response's nonce; no plugins, no framing, forms post here only. Images may come
# from elsewhere over HTTPS (a page's logo URL). `'self'` covers the same-origin websocket.
from csp.constants import NONCE, NONE, SELF  # noqa: E402

_OIDC_ORIGINS = sorted(
    {
        "{0.scheme}://{0.netloc}".format(urlsplit(env.str(f"OIDC_{_name.upper()}_SERVER_URL")))
        for _name in OIDC_PROVIDERS
    }
)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "https:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # Signing in with SSO posts here and is redirected to the provider: its origin too.
        "form-action": [SELF, *_OIDC_ORIGINS],
        "frame-ancestors": [NONE],
    }
}
# --- end of security ---------------------------------------------------------------------------

# --- Webhooks and chats (issue 15): outbound requests to subscribers' URLs -------------------
# Private, loopback and link-local addresses are refused (after DNS resolution and on every
# redirect) unless this is set: for tests and deployments whose subscribers are internal.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
# Or only these private networks (comma-separated CIDRs, e.g. 10.20.0.0/16).
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
# A 2xx within this many seconds counts as delivered; anything else is retried with backoff.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# How often the intranet widget (widget.js) asks summary.json again.
WIDGET_POLL_SECONDS = env.int("WIDGET_POLL_SECONDS", default=60)
# Requests in flight at once per worker batch.
WEBHOOK_CONCURRENCY = env.int("WEBHOOK_CONCURRENCY", default=100)

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
# Dates and times name their zone ("30 Nov 2026, 09:12 CET"): the admin shows them in the
# page's zone (incidents/admin/timezones.py), never as a bare UTC time.
FORMAT_MODULE_PATH = ["statuspage.formats"]

STATIC_URL = "static/"
# Where collectstatic writes (and the mirror and WhiteNoise read) the hashed assets.
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
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
    "DESCRIPTION": "Statuspage-compatible management API (v1, under /api/v1/, with a key) and "
    "each page's public read API (v2, under /p/<slug>/api/v2/, no key).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # API docs (issue 3): Swagger UI and Redoc from the sidecar package's static files, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Object ids in paths: public ids, or database ids in digits for a transition.
    "PATH_CONVERTER_OVERRIDES": {
        "apiid": {
            "type": "string",
            "pattern": "^(?:[a-z0-9]{12}|[0-9]+)$",
            "example": "2xb9kq3c8bvf",
        }
    },
    # Redoc in the system font: nothing from Google Fonts (statuspage/templates/drf_spectacular).
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
                "headings": {"fontFamily": "system-ui, -apple-system, Segoe UI, sans-serif"},
                "code": {"fontFamily": "ui-monospace, Menlo, Consolas, monospace"},
            }
        }
    },
    # The public v2 documents are plain views: statuspage/openapi.py adds them.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "statuspage.openapi.add_public_api",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ComponentStatusEnum": "incidents.models.ComponentStatus",
        "IncidentStatusEnum": "incidents.models.IncidentStatus",
        "ImpactEnum": "incidents.models.Impact",
        "IncidentUpdateStatusEnum": "incidents.api.serializers.INCIDENT_STATUS_CHOICES",
        "TemplateImpactEnum": "incidents.api.serializers.TEMPLATE_IMPACT_CHOICES",
        "AlertStatusEnum": "incidents.api.alerts.ALERT_STATUSES",
    },
}
# The management API refuses request bodies larger than this (413).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)

# Opt-in hardening for deployments behind TLS: each is its own switch, never implied by DEBUG.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Session and CSRF cookies are Secure in production (DEBUG off and a public host name).
SESSION_COOKIE_SECURE = env.bool(
    "SECURE_COOKIES",
    default=not DEBUG
    and any(
        h.strip().lstrip(".") not in {"127.0.0.1", "localhost", "[::1]", "testserver"}
        for h in ALLOWED_HOSTS
    ),
)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind a reverse proxy every visitor comes from the proxy's address. X-Forwarded-For is read
# only on requests whose peer is one of these addresses or networks (comma-separated, e.g.
# "127.0.0.1,10.0.0.0/24"); empty (the default) means the header is never trusted.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network(p.strip(), strict=False) for p in TRUSTED_PROXIES]
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

# Live pushes queued for one websocket client before it is closed to resync (it reads too slowly).
LIVE_SEND_QUEUE_MESSAGES = env.int("LIVE_SEND_QUEUE_MESSAGES", default=32)

# The most components one page may hold: past this a page is too heavy to read or load.
MAX_COMPONENTS_PER_PAGE = env.int("MAX_COMPONENTS_PER_PAGE", default=100)
# At most this long for one websocket push through the channel layer (seconds).
LIVE_PUSH_TIMEOUT = env.float("LIVE_PUSH_TIMEOUT", default=2.0)

# How long a public snapshot may be served from a shared cache before revalidating (seconds).
PUBLIC_CACHE_SECONDS = env.int("PUBLIC_CACHE_SECONDS", default=10)
# Answer the public pages (status, incident, history) from each process's copy of their cached
# rendering before the middleware stack, checked against the page's version stamp in the shared
# cache on every request (statuspage/fastpath.py). On by default with Redis; without it each
# process has its own cache, which a change made in another process does not reach.
PUBLIC_FAST_PATH = env.bool("PUBLIC_FAST_PATH", default=bool(REDIS_URL))
# Each process reads a page's version stamp from the cache at most this often (seconds): a change
# made in another process reaches its fast path within this time (0: read on every request).
PUBLIC_FAST_PATH_RECHECK_SECONDS = env.float("PUBLIC_FAST_PATH_RECHECK_SECONDS", default=0.1)

# --- When parts fail (issue 12) ---
# A public read that is not built within this many seconds (a part hangs) is answered from the
# last good copy instead; 0 builds inline with no limit.
PUBLIC_READ_SECONDS = env.float("PUBLIC_READ_SECONDS", default=0.7)
# With no copy to fall back on (a process that just started), wait this long for the build.
PUBLIC_READ_PATIENCE_SECONDS = env.float("PUBLIC_READ_PATIENCE_SECONDS", default=10.0)
# Threads per process that build public reads under that limit.
PUBLIC_READ_THREADS = env.int("PUBLIC_READ_THREADS", default=8)
# Where each process keeps the last good rendering of every public read, for a restart while
# the database is down.
LAST_GOOD_DIR = env.str("LAST_GOOD_DIR", default=str(BASE_DIR / "var" / "last-good"))
# The WSGI/ASGI entry points refuse to start while migrations are unapplied (a test process
# turns this off: it imports them before its test database exists).
CHECK_MIGRATIONS_AT_START = env.bool("CHECK_MIGRATIONS_AT_START", default=True)
# What shared caches and CDNs may serve when we answer errors (RFC 5861), in seconds.
STALE_IF_ERROR_SECONDS = env.int("STALE_IF_ERROR_SECONDS", default=86400)


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
if "USE_X_FORWARDED_FOR" in env:
    _errors.append(
        "USE_X_FORWARDED_FOR is gone: set TRUSTED_PROXIES to your reverse proxies' addresses "
        "(X-Forwarded-For is then read only from them)."
    )
if _errors:
    raise ImproperlyConfigured("Refusing to start: " + " ".join(_errors))
