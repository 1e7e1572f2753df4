"""Settings, all from the environment (see .env.example for every variable).

With no database URL set, the embedded default takes over: SQLite files in
DATA_DIR for the two SQL aliases and an nx-27017 server for MongoDB, started by
`python -m ecommerce.tooling.serve` (what `make run` calls).
"""

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ecommerce.env import data_dir, embedded, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()

DEBUG = env_bool("DEBUG", False)

DATABASE_URL = env_str("DATABASE_URL")
MYSQL_URL = env_str("MYSQL_URL")
MONGO_URL = env_str("MONGO_URL")
# The embedded default: no server to run, everything under DATA_DIR.
EMBEDDED = embedded()


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if DEBUG:
        return "django-insecure-development-only"
    if EMBEDDED:
        # One key per data directory, kept so that tokens survive restarts; `make run`
        # (ecommerce.tooling.serve) makes it before Django starts. Importing settings writes nothing.
        key_file = DATA_DIR / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and {key_file} does not exist: start the embedded default once "
            "with `make run` (it generates the key), or set SECRET_KEY."
        )
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. With DEBUG off and real databases configured the server "
        "refuses to start without it: set SECRET_KEY to a long random string."
    )


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "ecommerce",
    "users",
    "catalog",
    "inventory",
    "cart",
    "orders",
    "analytics",
    "reviews",
    "payments",
    "events",
]

MIDDLEWARE = [
    "ecommerce.api.middleware.RequestIdMiddleware",
    "ecommerce.api.middleware.BodySizeLimitMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "ecommerce.urls"
WSGI_APPLICATION = "ecommerce.wsgi.application"
APPEND_SLASH = False

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
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------
# `default` is PostgreSQL (users, carts, orders); `mysql` is MySQL/MariaDB
# (inventory, analytics), chosen by ecommerce.routers.DatabaseRouter.
CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 600)
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 3)
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 10000)
# How long MySQL may leave a read or a write unanswered: a frozen server (or a cut link that
# sends no reset) must not hold a worker for the statement timeout; a few seconds, then 503.
MYSQL_IO_TIMEOUT = env_int("MYSQL_IO_TIMEOUT", 3)


def _sql_database(url: str | None, sqlite_name: str) -> dict:
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / sqlite_name),
            "OPTIONS": {
                # Writers queue instead of failing with "database is locked".
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": str(DATA_DIR / f"test_{sqlite_name}")},
        }
    config = dj_database_url.parse(url, conn_max_age=CONN_MAX_AGE, conn_health_checks=True)
    engine = config["ENGINE"]
    options = config.setdefault("OPTIONS", {})
    if engine == "django.db.backends.postgresql":
        options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
        options.setdefault("options", f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}")
    elif engine == "django.db.backends.mysql":
        options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
        options.setdefault("read_timeout", MYSQL_IO_TIMEOUT)
        options.setdefault("write_timeout", MYSQL_IO_TIMEOUT)
        options.setdefault("charset", "utf8mb4")
        options.setdefault("isolation_level", "read committed")
        options.setdefault("init_command", "SET sql_mode='STRICT_TRANS_TABLES'")
    else:
        raise ImproperlyConfigured(f"Unsupported database URL scheme for {sqlite_name}: {url.split(':')[0]}")
    return config


DATABASES = {
    "default": _sql_database(DATABASE_URL, "default.sqlite3"),
    "mysql": _sql_database(MYSQL_URL, "mysql.sqlite3"),
}
DATABASE_ROUTERS = ["ecommerce.routers.DatabaseRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# MongoDB: MONGO_URL names the server and the database (mongodb://host:port/ecommerce).
# In the embedded default, ecommerce.tooling.serve starts nx-27017 and exports MONGO_URL.
MONGO_TIMEOUT_MS = env_int("MONGO_TIMEOUT_MS", 3000)
MONGO_DEFAULT_DB = "ecommerce"

# --- Cache -------------------------------------------------------------------
# With REDIS_URL, one cache shared by every replica: throttling counters and the catalog
# read cache (invalidated on every catalog write). Without it, throttles count per process
# and catalog reads are not cached (a per-process cache would serve stale products).
REDIS_URL = env_str("REDIS_URL")
# Redis is a cache: tens of milliseconds to connect or answer, then the request goes on
# without it, and this process leaves it alone for REDIS_RETRY_SECONDS (ecommerce.stores.redis).
REDIS_TIMEOUT_MS = env_int("REDIS_TIMEOUT_MS", 50)
REDIS_RETRY_SECONDS = env_int("REDIS_RETRY_SECONDS", 5)
# django-redis keeps one client per process; Django's own RedisCache builds one per call.
# A cache that is down is a miss, not an error: catalog reads go to MongoDB.
_REDIS = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": REDIS_URL,
    "OPTIONS": {
        "CONNECTION_FACTORY": "ecommerce.stores.redis.BreakerConnectionFactory",
        "IGNORE_EXCEPTIONS": True,
        "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_MS / 1000,
        "SOCKET_TIMEOUT": REDIS_TIMEOUT_MS / 1000,
    },
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
if REDIS_URL:
    CACHES = {
        "default": _REDIS,
        "catalog": {**_REDIS, "KEY_PREFIX": "catalog"},
        # Rate-limit counters: a failure is raised, not read as "no attempts", so
        # ecommerce.api.throttling counts in the process until Redis answers again.
        "throttle": {**_REDIS, "OPTIONS": {**_REDIS["OPTIONS"], "IGNORE_EXCEPTIONS": False}},
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        # The embedded default is one server per DATA_DIR (ecommerce.tooling.serve): its
        # workers share catalog reads in files there (faster here than a SQLite table, which
        # would cost a connection a request). Elsewhere, without Redis, replicas share nothing.
        "catalog": {
            "BACKEND": "ecommerce.stores.filecache.SharedFileCache",
            "LOCATION": str(DATA_DIR / "cache" / "catalog"),
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
        if EMBEDDED
        else {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
        # The same memory as `default` (one LOCATION): clearing one clears both.
        "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
CATALOG_CACHE_SECONDS = env_int("CATALOG_CACHE_SECONDS", 60) if REDIS_URL or EMBEDDED else 0

# --- Users and auth -------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
PASSWORD_HASHERS = [
    "ecommerce.api.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=env_int("JWT_REFRESH_HOURS", 24)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
    "SIGNING_KEY": SECRET_KEY,
}

THROTTLE_ENABLED = env_bool("THROTTLE_ENABLED", True)
# Orders one customer may place (POST /api/orders): past it, 429 with Retry-After.
THROTTLE_ORDER_RATE = env_str("THROTTLE_ORDER_RATE", "30/min")
# How long one checkout attempt holds its Idempotency-Key before a retry may take it over:
# longer than the slowest checkout (gunicorn's timeout, 30 s, ends any request first).
ORDER_LEASE_SECONDS = env_int("ORDER_LEASE_SECONDS", 35)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["users.authentication.VersionedJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["ecommerce.api.renderers.OrjsonRenderer"],
    "DEFAULT_PARSER_CLASSES": ["ecommerce.api.renderers.OrjsonParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # No OPTIONS metadata: the schema at /api/schema describes every route (OPTIONS is 405).
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_PAGINATION_CLASS": "ecommerce.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "ecommerce.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "ecommerce.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env_str("THROTTLE_LOGIN_IP_RATE", "20/min"),
        "login_account": env_str("THROTTLE_LOGIN_ACCOUNT_RATE", "10/min"),
        "register_ip": env_str("THROTTLE_REGISTER_RATE", "10/min"),
        "refresh_ip": env_str("THROTTLE_REFRESH_IP_RATE", "60/min"),
    },
    # Client IPs for throttling: 0 trusts only REMOTE_ADDR; behind N proxies set N.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "E-commerce API",
    "DESCRIPTION": "Users, catalog, cart, orders, inventory, analytics, reviews and wishlists.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Order.Status and the health status are both "status": name the enum, no hashed suffix.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "PaymentStatusEnum": "payments.models.Payment.Status",
        "RefundStatusEnum": "payments.models.Refund.Status",
    },
    # Relative: the schema is right on whichever host serves it.
    "SERVERS": [{"url": "/", "description": "The server that serves this document."}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ecommerce.api.schema.postprocess",
    ],
}

STORE_CURRENCY = env_str("CURRENCY", "USD")

# --- Events and webhooks (events/) ------------------------------------------------
# Fernet keys (comma-separated; the first encrypts) for webhook secrets at rest; unset, one
# is derived from SECRET_KEY.
WEBHOOK_SECRETS_KEYS = env_list("WEBHOOK_SECRETS_KEY", [])
# Webhooks to loopback/private/link-local addresses: development and tests only.
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)
WEBHOOKS_TIMEOUT_SECONDS = 10
EVENTS_RETENTION_DAYS = env_int("EVENTS_RETENTION_DAYS", 30)
EVENTS_RETRY_BASE_SECONDS = env_int("EVENTS_RETRY_BASE_MS", 10000) / 1000
EVENTS_MAX_ATTEMPTS = env_int("EVENTS_MAX_ATTEMPTS", 8)
EVENTS_RELAY_WORKERS = env_int("EVENTS_RELAY_WORKERS", 8)
EVENTS_RELAY_POLL_MS = env_int("EVENTS_RELAY_POLL_MS", 1000)

# --- Payments ------------------------------------------------------------------------
# The built-in `test` provider (signed webhooks, POST /api/payments/{id}/simulate): never in
# production. On by default in DEBUG and in the embedded default (`make run` on a laptop takes
# no real money, and the demo's shoppers pay through it). Its webhooks are signed with
# PAYMENTS_WEBHOOK_SECRET (derived from SECRET_KEY when unset).
PAYMENTS_TEST_PROVIDER = env_bool("PAYMENTS_TEST_PROVIDER", DEBUG or EMBEDDED)
PAYMENTS_WEBHOOK_SECRET = (
    env_str("PAYMENTS_WEBHOOK_SECRET")
    or hmac.new(SECRET_KEY.encode(), b"payments-webhook-secret", hashlib.sha256).hexdigest()
)
# Stripe is on when both are set; one without the other is a configuration mistake.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
if bool(STRIPE_SECRET_KEY) != bool(STRIPE_WEBHOOK_SECRET):
    raise ImproperlyConfigured("Set both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, or neither.")
# Another API base for the stripe library (stripe-mock, or the tests' local stand-in).
STRIPE_API_BASE = env_str("STRIPE_API_BASE")

# --- Requests, static files, security ------------------------------------------
MAX_BODY_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES

STATIC_URL = "/static/"
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Probes and scrapes come over plain HTTP from inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^health", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    # Only behind a proxy that sets (and strips client copies of) X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: JSON lines carrying the request id ----------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ecommerce.api.middleware.RequestIdLogFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Client errors are answered in the contract's shape; no need to log each 4xx.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
    },
}
