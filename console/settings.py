"""Settings for DLG Console, read once from the environment.

Every variable is documented in README.md ("Configuration"). With ``DEBUG`` off the console
refuses to start without a real ``SECRET_KEY`` and encryption keys; with ``DEBUG`` on (the local
run) it generates both once into ``var/`` so that ``make run`` works from a fresh clone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from console.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CONSOLE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)


def _local_secret(filename: str, make: Callable[[], str]) -> str:
    """Read a development-only secret from var/, creating it on first use."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = _local_secret("secret_key", lambda: secrets.token_urlsafe(50))
elif not SECRET_KEY:
    raise ImproperlyConfigured("The environment variable SECRET_KEY is required when DEBUG is off.")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters of random text.")

_encryption_keys = env_list("CONSOLE_ENCRYPTION_KEYS", default=[])
if not _encryption_keys:
    if not DEBUG:
        raise ImproperlyConfigured(
            "The environment variable CONSOLE_ENCRYPTION_KEYS is required when DEBUG is off "
            "(comma-separated Fernet keys; the first encrypts, all decrypt)."
        )
    _encryption_keys = [
        _local_secret("encryption_key", lambda: Fernet.generate_key().decode("ascii"))
    ]
for _position, _key in enumerate(_encryption_keys, start=1):
    try:
        Fernet(_key)
    except ValueError:
        # The key itself is never echoed: only its position in the list.
        raise ImproperlyConfigured(
            f"CONSOLE_ENCRYPTION_KEYS: key number {_position} is not a valid Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from None
CONSOLE_ENCRYPTION_KEYS: list[str] = _encryption_keys

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

# Where the demo bots point: the local platform sandbox.
SANDBOX_URL = env_str("SANDBOX_URL", "http://127.0.0.1:8765").rstrip("/")

# Timeouts for calls to the platforms, in seconds: connect, then read.
CONSOLE_CONNECT_TIMEOUT = float(env_str("CONSOLE_CONNECT_TIMEOUT", "3.05"))
CONSOLE_READ_TIMEOUT = float(env_str("CONSOLE_READ_TIMEOUT", "15"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "messaging.apps.MessagingConfig",
    "sandbox.apps.SandboxConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"
ASGI_APPLICATION = "console.asgi.application"

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

_database_url = env_str("DATABASE_URL", "")
if not _database_url:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _database_url = f"sqlite:///{VAR_DIR / 'console.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the console, the sandbox-driven demo and a worker read while one writes;
    # IMMEDIATE transactions turn lock upgrades into waits instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work (campaigns) runs on django.tasks, queued in the database: no broker needed.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# How many messages one worker has in flight at once, and how long a claim lasts before
# another worker may take the message over.
CAMPAIGN_CONCURRENCY = env_int("CAMPAIGN_CONCURRENCY", 8)
CAMPAIGN_LEASE_SECONDS = env_int("CAMPAIGN_LEASE_SECONDS", 60)
# How many tasks share one campaign, so that several workers can work on it together.
CAMPAIGN_PARALLEL_TASKS = env_int("CAMPAIGN_PARALLEL_TASKS", 2)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing root.
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
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

LOGIN_URL = "admin:login"

# Behind a TLS-terminating proxy in production; plain HTTP only for the local run.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # urllib3 logs request paths at DEBUG, and DLG's path ends in the bot token.
        "redact_tokens": {"()": "messaging.logging.RedactTokensFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_tokens"],
        },
    },
    "loggers": {
        "urllib3": {"filters": ["redact_tokens"]},
        "urllib3.connectionpool": {"filters": ["redact_tokens"]},
        # No handler of its own: records propagate to the root's (filtered) handler.
        "messaging": {"level": env_str("LOG_LEVEL", "INFO")},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
}
