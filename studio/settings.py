"""Omni Studio settings, read from the environment.

With no environment at all the studio runs on its embedded default: SQLite in
WAL mode, the in-memory channel layer, a task worker inside the
``manage.py studio`` process, media on local disk and the local engine.
``DATABASE_URL``, ``REDIS_URL`` and ``GEMINI_API_KEY`` scale it out.
"""

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STUDIO_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    # The embedded default keeps a random key beside its database, so sessions
    # survive restarts without anyone having to set one.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "axes",
    # Before django_tasks_db: its db_worker command is ours (housekeeping).
    "projects",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "projects.api.parser.api_content_types",
    # Last, as django-axes asks: it answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

# Email: printed to the console unless an SMTP server is configured.
if os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["EMAIL_HOST"],
                "port": int(os.environ.get("EMAIL_PORT", "587")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Omni Studio <studio@localhost>")
# The studio's address as people reach it, for links in mail sent from a
# worker (the notification digest), where no request says it.
STUDIO_SITE_URL = os.environ.get("STUDIO_SITE_URL", "http://127.0.0.1:8000")
# How often workers look for notification digests that are due.
STUDIO_DIGEST_CHECK_SECONDS = float(os.environ.get("STUDIO_DIGEST_CHECK_SECONDS", "300"))
# Who may create an account: "open" (anyone), or "invitation" (only someone
# holding a workspace's invitation link).
STUDIO_SIGNUP = os.environ.get("STUDIO_SIGNUP", "open")

# Sign-in is throttled by django-axes: after STUDIO_LOGIN_FAILURE_LIMIT wrong
# passwords for one username, or from one address, sign-in is refused (even
# with the right password) for STUDIO_LOGIN_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("STUDIO_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("STUDIO_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "projects.views.accounts.signin_paused"

ROOT_URLCONF = "studio.urls"
ASGI_APPLICATION = "studio.asgi.application"

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
                "django.template.context_processors.csp",
                "projects.context_processors.inbox",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.config(default=f"sqlite:///{VAR_DIR / 'studio.sqlite3'}")}
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# Opening a SQLite connection (and its WAL pragma) cost a live page's connect
# more than its queries do: on SQLite each thread keeps its own connection.
# A PostgreSQL server's connections are its to budget: none kept by default.
DATABASES["default"]["CONN_MAX_AGE"] = int(
    os.environ.get("CONN_MAX_AGE", "600" if _SQLITE else "0")
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A db_worker runs its tasks one after another: reconnecting for each (a new
# PostgreSQL backend every poll) cost it more than most tasks' own queries.
STUDIO_WORKER_CONN_MAX_AGE = int(os.environ.get("STUDIO_WORKER_CONN_MAX_AGE", "600"))
if _SQLITE:
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the page read while the worker thread writes; IMMEDIATE
        # takes the write lock up front so transactions queue instead of
        # failing with "database is locked" halfway through.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Each server's live hub holds one channel, in the groups of the projects and
# users it has pages open for (projects.live.hub), so a channel's traffic is
# every event of those projects: room for a burst of a thousand. An event
# older than a few seconds is not worth delivering (pages catch up by event
# number), and the hubs re-join their groups every heartbeat, so a membership
# not refreshed for a few minutes belongs to a server that is gone.
_LAYER_LIMITS = {"capacity": 1000, "expiry": 10, "group_expiry": 300}
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 gives every read a 5 s socket timeout, as long
                # as the layer's blocking receive (BZPOPMIN for 5 s): an idle
                # channel would fail every few seconds and drop what arrives
                # meanwhile. A read may take longer than the receive, not forever.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "prefix": os.environ.get("REDIS_PREFIX", "studio"),
                **_LAYER_LIMITS,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "projects.live.layers.ThreadSafeInMemoryChannelLayer",
            "CONFIG": _LAYER_LIMITS,
        }
    }
# The live hub: how often it re-joins its groups and tells pages the latest
# event number, how often presence is written and announced at most, and how
# long a page may take to take a message before it is dropped.
STUDIO_LIVE_HEARTBEAT_SECONDS = float(os.environ.get("STUDIO_LIVE_HEARTBEAT_SECONDS", "10"))
STUDIO_LIVE_PRESENCE_SECONDS = float(os.environ.get("STUDIO_LIVE_PRESENCE_SECONDS", "1"))
STUDIO_LIVE_SEND_TIMEOUT_SECONDS = float(os.environ.get("STUDIO_LIVE_SEND_TIMEOUT_SECONDS", "10"))
# A page that hears nothing (not even a heartbeat) for this long polls
# instead, and says so, until its socket is healthy again.
STUDIO_LIVE_SILENT_SECONDS = float(os.environ.get("STUDIO_LIVE_SILENT_SECONDS", "25"))

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# Run a worker thread inside `manage.py studio`. Off when separate
# `manage.py db_worker` processes do the work.
STUDIO_IN_PROCESS_WORKER = env_bool("STUDIO_IN_PROCESS_WORKER", True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# Static files are served from the source folders, so a fresh clone needs no
# collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))


def media_storage_from_environment() -> dict:
    """Media on local disk (the embedded default), or in an S3-compatible
    bucket: STORAGE_URL=s3://BUCKET?endpoint_url=...&region=...&prefix=...,
    or AWS_STORAGE_BUCKET_NAME with AWS_S3_ENDPOINT_URL and
    AWS_S3_REGION_NAME. Credentials are boto3's own (AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, or an instance role). The bucket stays private:
    media reach members only through the studio."""
    url = urlsplit(os.environ.get("STORAGE_URL", ""))
    bucket = url.netloc if url.scheme == "s3" else os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    query = {key: values[-1] for key, values in parse_qs(url.query).items()}
    endpoint = query.get("endpoint_url", os.environ.get("AWS_S3_ENDPOINT_URL", ""))
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint or None,
            "region_name": query.get("region", os.environ.get("AWS_S3_REGION_NAME", "")) or None,
            "location": query.get("prefix", os.environ.get("AWS_LOCATION", "")),
            "default_acl": None,
            "file_overwrite": False,
            # Uploads above this go in parts, streamed from disk.
            "max_memory_size": 8 * 1024 * 1024,
        },
    }


STORAGES = {
    "default": media_storage_from_environment(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "media-src": [CSP.SELF, "blob:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SESSION_COOKIE_HTTPONLY = True
# Pages read the CSRF token from <body hx-headers>, never from the cookie.
CSRF_COOKIE_HTTPONLY = True

# Behind TLS (the README's production environment). Each is off unless set,
# so the embedded default keeps working on http://localhost.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT")
# The balancer checks /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE_SSL_REDIRECT)
# The header a TLS-terminating proxy sets, e.g. X-Forwarded-Proto: only when
# the proxy always sets it (and strips it from clients).
if proxy_header := os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip():
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_header.upper().replace("-", "_"), "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "projects": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        "studio": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    },
}

# Uploads: bounded before anything decodes them.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
STUDIO_MAX_IMAGE_BYTES = int(os.environ.get("STUDIO_MAX_IMAGE_BYTES", 20 * 1024 * 1024))
STUDIO_MAX_IMAGE_PIXELS = int(os.environ.get("STUDIO_MAX_IMAGE_PIXELS", 50_000_000))
STUDIO_MAX_VIDEO_BYTES = int(os.environ.get("STUDIO_MAX_VIDEO_BYTES", 200 * 1024 * 1024))
# Whole request bodies, refused with 413 before they are read
# (studio/request_limits.py): routes that take files (a clip, or a
# generation's stills and reference clips together), every other signed-in
# request, and requests with no session or token (sign-in, sign-up).
STUDIO_MAX_UPLOAD_REQUEST_BYTES = int(
    os.environ.get("STUDIO_MAX_UPLOAD_REQUEST_BYTES", STUDIO_MAX_VIDEO_BYTES + 8 * 1024 * 1024)
)
STUDIO_MAX_REQUEST_BYTES = int(os.environ.get("STUDIO_MAX_REQUEST_BYTES", 2 * 1024 * 1024))
STUDIO_MAX_ANONYMOUS_REQUEST_BYTES = int(
    os.environ.get("STUDIO_MAX_ANONYMOUS_REQUEST_BYTES", 64 * 1024)
)
STUDIO_MAX_VIDEO_SECONDS = int(os.environ.get("STUDIO_MAX_VIDEO_SECONDS", 60))
STUDIO_MAX_VIDEO_SIDE = int(os.environ.get("STUDIO_MAX_VIDEO_SIDE", 4096))
STUDIO_MAX_PROMPT_CHARS = 4000

# Engines. The local engine is always there; Gemini joins when a key is set.
GEMINI_API_KEY = os.environ.get("GEMINI_API_KEY", "")
GEMINI_MODEL = os.environ.get("GEMINI_MODEL", "")
GEMINI_BASE_URL = os.environ.get("GEMINI_BASE_URL", "")
GEMINI_TIMEOUT_SECONDS = float(os.environ.get("GEMINI_TIMEOUT_SECONDS", "60"))
# 0: a poll that meets a 429/503 is re-enqueued for later (run_after) rather
# than retried by a worker sleeping on it.
GEMINI_POLL_RETRIES = int(os.environ.get("GEMINI_POLL_RETRIES", "0"))
STUDIO_ENGINES = {"local": "studio.engines.local.engine.LocalEngine"}
if GEMINI_API_KEY:
    STUDIO_ENGINES = {"gemini": "studio.engines.gemini.engine.GeminiEngine", **STUDIO_ENGINES}
STUDIO_DEFAULT_ENGINE = os.environ.get("STUDIO_DEFAULT_ENGINE", next(iter(STUDIO_ENGINES)))
# Each engine's options, as the settings they are read from when it is
# built (engines read no settings themselves).
STUDIO_ENGINE_OPTIONS = {
    "gemini": {
        "api_key": "GEMINI_API_KEY",
        "model": "GEMINI_MODEL",
        "base_url": "GEMINI_BASE_URL",
        "timeout": "GEMINI_TIMEOUT_SECONDS",
        "poll_retries": "GEMINI_POLL_RETRIES",
    },
}

# Price per second of generated video, by resolution, for estimates before
# submitting. The model's pricing is not published: set these from the bill.
STUDIO_PRICE_PER_SECOND = {
    "local": {"480p": Decimal(0), "720p": Decimal(0), "1080p": Decimal(0)},
    "gemini": {
        "720p": Decimal(os.environ.get("GEMINI_PRICE_720P", "0.05")),
        "1080p": Decimal(os.environ.get("GEMINI_PRICE_1080P", "0.10")),
    },
}

# A generation's life: how long a worker's claim lasts before the sweeper
# may hand the version to another, and how often to poll a remote engine.
STUDIO_LEASE_SECONDS = int(os.environ.get("STUDIO_LEASE_SECONDS", "60"))
STUDIO_POLL_SECONDS = float(os.environ.get("STUDIO_POLL_SECONDS", "5"))
# Polls wait half the time a generation like it typically still needs, up to this.
STUDIO_POLL_MAX_SECONDS = float(os.environ.get("STUDIO_POLL_MAX_SECONDS", "30"))
STUDIO_SWEEP_SECONDS = float(os.environ.get("STUDIO_SWEEP_SECONDS", "30"))
# Housekeeping (projects/services/housekeeping.py), run by every worker
# process: its tick, how often each kind of job runs, and what it keeps.
STUDIO_HOUSEKEEPING_SECONDS = float(os.environ.get("STUDIO_HOUSEKEEPING_SECONDS", "10"))
STUDIO_HOUSEKEEPING_RECLAIM_SECONDS = float(
    os.environ.get("STUDIO_HOUSEKEEPING_RECLAIM_SECONDS", "60")
)
STUDIO_HOUSEKEEPING_PRUNE_SECONDS = float(
    os.environ.get("STUDIO_HOUSEKEEPING_PRUNE_SECONDS", "3600")
)
STUDIO_HOUSEKEEPING_ORPHANS_SECONDS = float(
    os.environ.get("STUDIO_HOUSEKEEPING_ORPHANS_SECONDS", "21600")
)
STUDIO_TASK_RETENTION_DAYS = int(os.environ.get("STUDIO_TASK_RETENTION_DAYS", "7"))
STUDIO_HOUSEKEEPING_TEMP_MARGIN_SECONDS = float(
    os.environ.get("STUDIO_HOUSEKEEPING_TEMP_MARGIN_SECONDS", "7200")
)
STUDIO_ORPHAN_MARGIN_HOURS = float(os.environ.get("STUDIO_ORPHAN_MARGIN_HOURS", "24"))
STUDIO_MAX_TRANSIENT_RETRIES = int(os.environ.get("STUDIO_MAX_TRANSIENT_RETRIES", "8"))
# How long an engine account's submissions pause after a "too many requests"
# answer that named no Retry-After.
STUDIO_THROTTLE_SECONDS = float(os.environ.get("STUDIO_THROTTLE_SECONDS", "10"))


def _quota(name: str) -> int | None:
    return int(os.environ.get(name) or 0) or None


# Per engine account (an engine and its API key), shared by every worker and
# server: requests per rolling minute and generations per UTC day, taken
# immediately before the paid call. None: no limit but the engine's own.
# Gemini's free tier allows 10 a minute and 1,500 a day; paid keys 60 a minute.
STUDIO_ENGINE_QUOTAS = {
    "gemini": {
        "per_minute": _quota("GEMINI_REQUESTS_PER_MINUTE"),
        "per_day": _quota("GEMINI_GENERATIONS_PER_DAY"),
    },
    "local": {
        "per_minute": _quota("LOCAL_REQUESTS_PER_MINUTE"),
        "per_day": _quota("LOCAL_GENERATIONS_PER_DAY"),
    },
}
# The rolling window of a per-minute quota, in seconds (tests shorten it).
STUDIO_QUOTA_MINUTE_SECONDS = float(os.environ.get("STUDIO_QUOTA_MINUTE_SECONDS", "60"))
# Progress events while rendering, at most this often per version.
STUDIO_PROGRESS_INTERVAL_SECONDS = float(os.environ.get("STUDIO_PROGRESS_INTERVAL_SECONDS", "0.25"))
STUDIO_API_MAX_ACTIVE_GENERATIONS = int(os.environ.get("STUDIO_API_MAX_ACTIVE_GENERATIONS", "5"))

# Webhooks (projects/services/webhooks.py). Deliveries time out after
# STUDIO_WEBHOOKS_TIMEOUT_SECONDS (to connect, and for each read); a failed
# one is retried through the task queue, waiting RETRY_BASE_SECONDS, then
# twice that, and so on (each wait at most RETRY_MAX_SECONDS), for at most
# MAX_ATTEMPTS attempts within RETRY_FOR_SECONDS of the event. An endpoint
# whose deliveries fail DISABLE_AFTER_FAILURES times in a row is turned off
# and its workspace's owners are mailed.
STUDIO_WEBHOOKS_TIMEOUT_SECONDS = float(os.environ.get("STUDIO_WEBHOOKS_TIMEOUT_SECONDS", "5"))
STUDIO_WEBHOOKS_MAX_ATTEMPTS = int(os.environ.get("STUDIO_WEBHOOKS_MAX_ATTEMPTS", "8"))
STUDIO_WEBHOOKS_RETRY_BASE_SECONDS = float(
    os.environ.get("STUDIO_WEBHOOKS_RETRY_BASE_SECONDS", "10")
)
STUDIO_WEBHOOKS_RETRY_MAX_SECONDS = float(
    os.environ.get("STUDIO_WEBHOOKS_RETRY_MAX_SECONDS", "3600")
)
STUDIO_WEBHOOKS_RETRY_FOR_SECONDS = float(
    os.environ.get("STUDIO_WEBHOOKS_RETRY_FOR_SECONDS", "86400")
)
STUDIO_WEBHOOKS_DISABLE_AFTER_FAILURES = int(
    os.environ.get("STUDIO_WEBHOOKS_DISABLE_AFTER_FAILURES", "10")
)
# Settled deliveries are kept in the log this long (housekeeping prunes them).
STUDIO_WEBHOOKS_LOG_DAYS = int(os.environ.get("STUDIO_WEBHOOKS_LOG_DAYS", "30"))
# Only https, to public addresses, unless these are set (for a receiver on
# this machine or the local network, and for tests).
STUDIO_WEBHOOKS_ALLOW_HTTP = env_bool("STUDIO_WEBHOOKS_ALLOW_HTTP")
STUDIO_WEBHOOKS_ALLOW_PRIVATE = env_bool("STUDIO_WEBHOOKS_ALLOW_PRIVATE")
