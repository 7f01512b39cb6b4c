"""Every setting, read from the environment (django-environ) with development defaults.

Production is the default: unless `SAAS_ENVIRONMENT` says `development` or `test`, DEBUG is
off, secrets have no default and a missing (or published development) one stops start-up
with a message naming it. `make dev` and `make test` set the environment for their children.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE as CSP_NONCE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue as KombuQueue

from saas.queues import queue_name, queue_names

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# A deployment that forgets the variable must not run with DEBUG and a published key, so the
# unsafe modes are the ones that must be asked for.
ENVIRONMENT = env.str("SAAS_ENVIRONMENT", default="") or "production"
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured("SAAS_ENVIRONMENT must be development, test or production")
IS_PRODUCTION = ENVIRONMENT == "production"

DEVELOPMENT_SECRET_KEY = "dev-only-secret-key-not-for-production"  # noqa: S105 (published on purpose)
_missing_in_production: list[str] = []


def required_in_production(name: str, development_default: str) -> str:
    """A secret: the development default outside production; in production, noted if missing."""
    value = env.str(name, default="")
    if value:
        return value
    if IS_PRODUCTION:
        _missing_in_production.append(name)
    return development_default


def _secret_key_is_weak(key: str) -> bool:
    # Django's deploy check (security.W009) rule: short or repetitive keys are guessable.
    return (
        key == DEVELOPMENT_SECRET_KEY
        or len(key) < 50
        or len(set(key)) < 5
        or key.startswith("django-insecure-")
    )


DEBUG = env.bool("DEBUG", default=not IS_PRODUCTION and ENVIRONMENT != "test")
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "DEBUG must be off in production (unset DEBUG, or set SAAS_ENVIRONMENT=development)"
    )
SECRET_KEY = required_in_production("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if IS_PRODUCTION and "SECRET_KEY" not in _missing_in_production and _secret_key_is_weak(SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak for production: use at least 50 random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
    )

# --- Hosts -------------------------------------------------------------------------------
# The bare base domain is the public site; `<slug>.<base>` and custom domains are tenants.
SAAS_BASE_DOMAIN = required_in_production("SAAS_BASE_DOMAIN", "localhost").lower().rstrip(".")
SAAS_SITE_NAME = env.str("SAAS_SITE_NAME", default="Foundry")
SAAS_SCHEME = env.str("SAAS_SCHEME", default="https" if IS_PRODUCTION else "http")
# Port appended to generated URLs (":8000" in development); empty behind a load balancer.
SAAS_PUBLIC_PORT = env.str("SAAS_PUBLIC_PORT", default="" if IS_PRODUCTION else "8000")
# Custom domains are unknown ahead of time, so Host validation is the tenant resolver's job:
# it answers 404 to any host that is not the base domain or a registered Domain.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
# Empty: Django always trusts a request's own origin (scheme and Host), which is the only one
# a form on our pages posts from. A wildcard for `*.<base>` would let any tenant's host (or a
# page an attacker gets onto one) post to every other tenant.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Our 403 page for a failed CSRF check, with the request id like the other error pages.
CSRF_FAILURE_VIEW = "saas.errors.csrf_failure"

# --- Applications ------------------------------------------------------------------------
SHARED_APPS = [
    # Our tenants app comes before django_tenants so its `migrate` / `migrate_schemas`
    # commands (which also keep the provisioning template current) take precedence.
    "tenants",
    # Before django_tenants, whose admin/app_list.html override fails on the public host
    # (request.tenant is None there), breaking every admin page.
    "django.contrib.admin",
    # Before django_tenants, whose own `create_tenant` command would shadow ours.
    "accounts",
    "django_tenants",
    "saas",
    "invitations",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Its template tags, for allauth's sessions page ("last seen 3 minutes ago").
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Which sessions each user has, so a privilege change can end them (accounts.sessions).
    "allauth.usersessions",
    "csp",
    "djstripe",
    "billing",
    "realtime",
    "dashboard",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "images",
    "lifecycle",
]
TENANT_APPS = [
    "activity",
    "notifications",
    "projects",
    "jobs",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# Schema that `migrate_schemas` keeps migrated and `tenant_provision` copies.
TENANT_TEMPLATE_SCHEMA = "tenant_template"
# With our backend, `SET search_path` runs only when a connection's schema really changes.
TENANT_LIMIT_SET_CALLS = True
# `migrate_schemas` (tenants.migration): schemas migrated at once (one thread and one
# database connection each), schemas per batch between status writes, and tries per schema
# in one run before it is reported failed.
MIGRATION_WORKERS = env.int("MIGRATION_WORKERS", default=4)
MIGRATION_BATCH_SIZE = env.int("MIGRATION_BATCH_SIZE", default=200)
MIGRATION_ATTEMPTS = env.int("MIGRATION_ATTEMPTS", default=2)
# The pg_dump tenant_dump runs: one of the server's major version (make dev / make test set
# the embedded server's).
PG_DUMP = env.str("PG_DUMP", default="pg_dump")
# Seconds a process may serve a cached host -> tenant mapping after another process
# changed a Domain (the process that made the change sees it at once).
TENANT_RESOLUTION_RECHECK_SECONDS = env.float("TENANT_RESOLUTION_RECHECK_SECONDS", default=2.0)
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

MIDDLEWARE = [
    # First: every response carries X-Request-ID, the health checks' too.
    "saas.observability.RequestContextMiddleware",
    "saas.health.HealthCheckMiddleware",
    # The client address for audit rows (activity.context); after the request id is bound.
    "activity.context.AuditContextMiddleware",
    # A view's exception becomes its error page on the view's thread, in the request's schema
    # (under ASGI Django would render it on another thread: saas/errors.py).
    "saas.errors.ViewExceptionMiddleware",
    # A database that stops answering: 503 with Retry-After, not a 500 (saas/unavailable.py).
    "saas.unavailable.DatabaseUnavailableMiddleware",
    # Static files on every host, the unknown-host page's stylesheet included.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.TenantResolutionMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "saas.csp.ContentSecurityPolicyMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.middleware.SessionHostMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffTwoFactorMiddleware",
]

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
                "saas.context_processors.site",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# Every form: label, input, help, then errors under the field (saas/templates/saas/forms/).
FORM_RENDERER = "saas.forms.FormRenderer"

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Data --------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url_config(
        required_in_production("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/saas")
    )
}
DATABASES["default"]["ENGINE"] = "tenants.postgresql_backend"
# Persistent connections: a new connection per request costs ~10x the throughput here.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# Under ASGI each request's sync code may run in a fresh thread, and a persistent connection
# per thread piles up until PostgreSQL refuses clients; DB_POOL_MAX_SIZE > 0 uses Django's
# psycopg pool instead (connections are returned at the end of each request). The Procfile's
# `web` role (and `make dev`) turn it on; Celery workers keep one persistent connection.
if env.int("DB_POOL_MAX_SIZE", default=0) > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DB_POOL_MAX_SIZE"),
        "timeout": 10,
    }
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)
# How a pooler in front of PostgreSQL hands out server connections: `session` (none, or
# PgBouncer's session mode) or `transaction` (PgBouncer's transaction mode: the search path
# then travels with every statement, see tenants/postgresql_backend; server-side cursors,
# which outlive a transaction, are off). Statement pooling cannot work and is refused.
DATABASE_POOLING = env.str("DATABASE_POOLING", default="session")
if DATABASE_POOLING == "transaction":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = required_in_production("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        # Django's RedisCache, a miss while Redis is away (saas/cache.py).
        "BACKEND": "saas.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        # django-tenants' key function prefixes every key with the current schema.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="saas"),
        # A Redis that stops answering must fail a request quickly, not hang it.
        "OPTIONS": {
            "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=1.0),
            "socket_timeout": env.float("REDIS_TIMEOUT_SECONDS", default=2.0),
        },
    }
}
# Sessions live in public (one table for every host), so their cache entries must not depend
# on the schema of the request that touched them: with the tenant key function a logout on a
# tenant host deleted that host's entry and left the public host's copy alive for two weeks.
CACHES["sessions"] = {
    **CACHES["default"],
    "BACKEND": "saas.cache.SessionRedisCache",
    "KEY_FUNCTION": "django.core.cache.backends.base.default_key_func",
    "REVERSE_KEY_FUNCTION": None,
    "KEY_PREFIX": CACHES["default"]["KEY_PREFIX"] + ":sessions",
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Real time (channels) ----------------------------------------------------------------
# Redis wherever it is configured; the in-memory layer (one process only) when REDIS_URL="".
# The pub/sub layer (realtime.layers: channels-redis's RedisPubSubChannelLayer, closing its
# sockets with 1013 and one warning line when its Redis goes away instead of a traceback a
# second), measured against the core RedisChannelLayer (bench/realtime.py, docs/benchmarks.md):
# pub/sub fans a message out once per process (one PUBLISH; 500 sockets p95 89 ms, core 170
# ms). CHANNEL_LAYER_BACKEND=channels_redis.core.RedisChannelLayer switches to the core layer.
# Each setting below answers a trap the default settings fall into (README, "Real time"):
# - socket_timeout above the layer's 5 s blocking pop: at redis-py's 5 s the idle receive
#   loop's read timed out and killed a socket about every 5 s per process;
# - max_connections well above the pool's 100: a few hundred sockets connecting or closing
#   together each borrow a connection for group_add/discard, and "Too many connections"
#   left members in groups and answered handshakes with 500;
# - socket_connect_timeout well above the cache's 1 s: the core layer opens a connection per
#   socket joining at that moment, and a crowd of 300 joining together on a busy event loop
#   missed a 1 s deadline (a refused handshake, HTTP 403, for some); a Redis that is down
#   refuses at once whatever the timeout;
# - capacity is per server process (every local socket shares one Redis list), so the
#   default 100 dropped a burst for every socket of the process; gaps that still happen are
#   seen through each message's sequence number and answered with a fresh snapshot
#   (capacity, expiry and group_expiry are the core layer's; pub/sub keeps groups in process).
CHANNEL_LAYER_REDIS_MAX_CONNECTIONS = env.int("CHANNEL_LAYER_REDIS_MAX_CONNECTIONS", default=2000)
CHANNEL_LAYER_CAPACITY = env.int("CHANNEL_LAYER_CAPACITY", default=5000)
CHANNEL_LAYER_PREFIX = env.str(
    "CHANNEL_LAYER_PREFIX", default=env.str("CACHE_KEY_PREFIX", default="saas") + ":ws"
)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": env.str("CHANNEL_LAYER_BACKEND", default="realtime.layers.PubSubChannelLayer"),
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": env.float("CHANNEL_LAYER_SOCKET_TIMEOUT_SECONDS", default=15.0),
                        "socket_connect_timeout": env.float(
                            "CHANNEL_LAYER_CONNECT_TIMEOUT_SECONDS", default=5.0
                        ),
                        "max_connections": CHANNEL_LAYER_REDIS_MAX_CONNECTIONS,
                    }
                ],
                "prefix": CHANNEL_LAYER_PREFIX,
                "capacity": CHANNEL_LAYER_CAPACITY,
                # A message older than this is stale: the client re-reads the snapshot instead.
                "expiry": env.int("CHANNEL_LAYER_EXPIRY_SECONDS", default=30),
                # Sockets re-join their groups every REALTIME_RESYNC_SECONDS, so a group entry
                # left by a killed process goes away within minutes, not a day.
                "group_expiry": env.int("CHANNEL_LAYER_GROUP_EXPIRY_SECONDS", default=300),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# How often an open socket re-joins its groups and compares sequence numbers (a message lost
# in Redis or a Redis restart then costs at most this long before a fresh snapshot).
REALTIME_RESYNC_SECONDS = env.float("REALTIME_RESYNC_SECONDS", default=15.0)
# Longest a service waits for the channel layer to take a live message (saas.broadcast); past
# it the message is skipped with a warning, and sockets find the gap by its sequence number.
BROADCAST_TIMEOUT_SECONDS = env.float("BROADCAST_TIMEOUT_SECONDS", default=2.0)
# Client frames above this size get an error message (the server's own limit is higher).
REALTIME_MAX_FRAME_BYTES = env.int("REALTIME_MAX_FRAME_BYTES", default=4096)
SESSION_CACHE_ALIAS = "sessions"

# Largest request body accepted, in bytes (saas/request_limits.py refuses bigger ones with a
# 413 before reading them). Forms and Stripe webhooks are far smaller; Django's own limit on
# form data is the same, so nothing under it is refused later with a traceback.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES

# --- Accounts ----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Argon2id with OWASP's parameters, configurable (see accounts/hashers.py for why).
ARGON2_MEMORY_KIB = env.int("ARGON2_MEMORY_KIB", default=19456)
ARGON2_TIME_COST = env.int("ARGON2_TIME_COST", default=2)
ARGON2_PARALLELISM = env.int("ARGON2_PARALLELISM", default=1)
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# allauth's rate-limit syntax. Sign-up attempts per client IP and per email address; failed
# logins per client IP and per address (the lockout), staff included: the admin logs in
# through allauth (config/urls_public.py).
ACCOUNT_RATE_LIMITS = {
    "signup": env.str("SIGNUP_RATE_LIMIT", default="20/m/ip,5/h/key"),
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="10/m/ip,5/5m/key"),
    # Each invitation emails an address of the inviter's choosing: per inviter, per organization.
    "invitation_create": env.str("INVITATION_RATE_LIMIT", default="20/h/user,50/h/key"),
}
# Two-factor (allauth.mfa), set up on the public host's account pages (/2fa/): an authenticator
# app (TOTP) with recovery codes, and security keys / passkeys (WebAuthn) as a second factor.
# Logging in asks for the code after the password; staff reach the admin through that login.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = SAAS_SITE_NAME
# WebAuthn demands HTTPS except on http://localhost, which development and tests use.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not IS_PRODUCTION
# Staff without two-factor are sent to set it up before the admin opens (accounts.middleware).
ADMIN_REQUIRE_TWO_FACTOR = env.bool("ADMIN_REQUIRE_TWO_FACTOR", default=IS_PRODUCTION)
# Seconds a login hand-off link (public host -> tenant host) stays usable.
LOGIN_HANDOFF_SECONDS = env.int("LOGIN_HANDOFF_SECONDS", default=60)

# --- Email -------------------------------------------------------------------------------
# django-environ drops the first slash of a filemail:// path: four slashes keep it absolute,
# so `make dev` writes to <checkout>/var/mail/ wherever it is started from.
EMAIL_CONFIG = env.email_url_config(
    required_in_production("EMAIL_URL", "filemail:///" + str(BASE_DIR / "var" / "mail"))
)
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SAAS_SITE_NAME} <no-reply@{SAAS_BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task not acknowledged within this many seconds is delivered again (Redis broker), even
# while a worker still runs it (celery #5935): it must exceed every task's hard time limit,
# which start-up checks below.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # How often a worker looks for unacknowledged messages older than the timeout
    # (roughly interval x throttle seconds); tests of redelivery make both small.
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Publishing fails fast when the broker is down: the outbox keeps the event for the sweeper.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Queues by purpose (config/queues.py), each consumed by the Procfile's worker: a long report
# never sits in front of a welcome email in one line. CELERY_QUEUE prefixes every name (tests and
# benchmarks give each run its own).
CELERY_QUEUE_PREFIX = env.str("CELERY_QUEUE", default="")
CELERY_TASK_QUEUES = [KombuQueue(name) for name in queue_names(prefix=CELERY_QUEUE_PREFIX)]
CELERY_TASK_DEFAULT_QUEUE = queue_name("default", prefix=CELERY_QUEUE_PREFIX)
CELERY_TASK_ROUTES = {
    "accounts.send_welcome_email": {"queue": queue_name("emails", prefix=CELERY_QUEUE_PREFIX)},
    "invitations.send_invitation_email": {"queue": queue_name("emails", prefix=CELERY_QUEUE_PREFIX)},
    "billing.plan_email_send": {"queue": queue_name("emails", prefix=CELERY_QUEUE_PREFIX)},
    "jobs.job_run": {"queue": queue_name("reports", prefix=CELERY_QUEUE_PREFIX)},
    "lifecycle.tenant_export": {"queue": queue_name("reports", prefix=CELERY_QUEUE_PREFIX)},
    "images.*": {"queue": queue_name("images", prefix=CELERY_QUEUE_PREFIX)},
}
# Time limits: soft raises SoftTimeLimitExceeded in the task (it cleans up and fails), hard
# kills the worker process. Every task has the default unless it sets its own (reports:
# JOB_*_TIME_LIMIT_SECONDS below).
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "outbox-sweep": {
        "task": "saas.outbox_sweep",
        "schedule": env.float("OUTBOX_SWEEP_SECONDS", default=15.0),
    },
}

# Side effects (saas.deliveries.DeliveryTask): transient failures retry with capped
# exponential backoff and full jitter (base and cap in seconds) until the deadline, counted
# from when the delivery was recorded; a failure after it records the delivery dead.
TASK_RETRY_BACKOFF_SECONDS = env.float("TASK_RETRY_BACKOFF_SECONDS", default=2.0)
TASK_RETRY_BACKOFF_MAX_SECONDS = env.float("TASK_RETRY_BACKOFF_MAX_SECONDS", default=300.0)
TASK_RETRY_DEADLINE_SECONDS = env.float("TASK_RETRY_DEADLINE_SECONDS", default=24 * 3600.0)
# Outbox rows younger than this are left to the on-commit relay of the process that wrote them.
OUTBOX_SWEEP_GRACE_SECONDS = env.float("OUTBOX_SWEEP_GRACE_SECONDS", default=10.0)

# --- Outside parties told about sign-ups (each switched on by its variable) ---------------
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
ANALYTICS_URL = env.str("ANALYTICS_URL", default="")
OUTBOUND_HTTP_TIMEOUT_SECONDS = env.float("OUTBOUND_HTTP_TIMEOUT_SECONDS", default=5.0)

# --- Billing (Stripe) ---------------------------------------------------------------------
# Billing is switched on by STRIPE_SECRET_KEY; use test keys (sk_test_...) outside production.
# STRIPE_API_BASE points stripe-python at a stand-in (devtools/stripe_fake/) in dev and tests.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_PRICE_PRO = env.str("STRIPE_PRICE_PRO", default="")
STRIPE_PRICE_BUSINESS = env.str("STRIPE_PRICE_BUSINESS", default="")
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10.0)
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith("sk_live_")
if IS_PRODUCTION and STRIPE_SECRET_KEY and not STRIPE_WEBHOOK_SECRET:
    _missing_in_production.append("STRIPE_WEBHOOK_SECRET")
# A past-due tenant keeps its paid plan this many days before it falls back to Free.
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)
DJSTRIPE_SUBSCRIBER_MODEL = "tenants.Tenant"
# billing.services.customer_ensure links each customer to its tenant; dj-stripe's own linking
# (by this metadata key) would demand an `email` attribute on the Tenant, which has none.
DJSTRIPE_SUBSCRIBER_CUSTOMER_KEY = ""
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"
CELERY_BEAT_SCHEDULE["billing-past-due-downgrade"] = {
    "task": "billing.past_due_downgrade",
    "schedule": env.float("BILLING_PAST_DUE_SWEEP_SECONDS", default=3600.0),
}

# --- Background jobs (jobs/: reports) --------------------------------------------------
# A report's time limits (soft: it fails cleanly; hard: the process is killed and the stale
# sweep marks it failed), how many deliveries of one job are tried (a worker killed mid-job
# redelivers it), how long a download link lasts and how often beat looks for stale jobs.
JOB_SOFT_TIME_LIMIT_SECONDS = env.int("JOB_SOFT_TIME_LIMIT_SECONDS", default=600)
JOB_TIME_LIMIT_SECONDS = env.int("JOB_TIME_LIMIT_SECONDS", default=660)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)
JOB_DOWNLOAD_LINK_SECONDS = env.int("JOB_DOWNLOAD_LINK_SECONDS", default=300)
JOB_STALE_SWEEP_SECONDS = env.float("JOB_STALE_SWEEP_SECONDS", default=60.0)
# A job still queued this long is sent again (its message may never have reached the broker).
JOB_QUEUED_RESEND_SECONDS = env.int("JOB_QUEUED_RESEND_SECONDS", default=900)
JOB_REPORT_MAX_DAYS = 366
CELERY_BEAT_SCHEDULE["jobs-stale-sweep"] = {
    "task": "jobs.stale_sweep",
    "schedule": JOB_STALE_SWEEP_SECONDS,
}
_longest_time_limit = max(CELERY_TASK_TIME_LIMIT, JOB_TIME_LIMIT_SECONDS)
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= _longest_time_limit:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT ({CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout']} s) must exceed "
        f"the longest task time limit ({_longest_time_limit} s), or the broker delivers running tasks again"
    )
# --- Data lifecycle (lifecycle/) ----------------------------------------------------------
# Days between an owner asking to delete the organization and the deletion (cancellable).
TENANT_DELETION_GRACE_DAYS = env.float("TENANT_DELETION_GRACE_DAYS", default=7.0)
# Organization exports are written to default storage under exports/<schema>/ (Static and
# media files, below).
CELERY_BEAT_SCHEDULE["lifecycle-tenant-deletions"] = {
    "task": "lifecycle.tenant_deletions_run",
    "schedule": env.float("TENANT_DELETION_SWEEP_SECONDS", default=600.0),
}

# --- Invitations ---------------------------------------------------------------------------
INVITATION_EXPIRY_DAYS = env.int("INVITATION_EXPIRY_DAYS", default=7)
# Minimum seconds between two sends of the same invitation (resend rate limit).
INVITATION_RESEND_INTERVAL = env.int("INVITATION_RESEND_INTERVAL", default=60)
# How long a service waits for an invitation's row lock before answering "try again".
INVITATION_LOCK_TIMEOUT = env.str("INVITATION_LOCK_TIMEOUT", default="2s")
CELERY_BEAT_SCHEDULE["invitations-expire-and-remind"] = {
    "task": "invitations.expire_and_remind",
    "schedule": env.float("INVITATION_SWEEP_SECONDS", default=300.0),
}

# --- API (api/, README "API") -------------------------------------------------------------
REST_FRAMEWORK = {
    # The key first: its WWW-Authenticate makes a request without credentials a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.TenantApiPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiCursorPagination",
    "DEFAULT_THROTTLE_CLASSES": [],  # api.ratelimits instead: DRF's throttles are not atomic
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": f"{SAAS_SITE_NAME} API",
    "DESCRIPTION": "The organization's REST API, served on the organization's own host (README: API).",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.finish_schema",
    ],
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "accounts.models.Membership.Role",
        "ProjectStatusEnum": "projects.models.Project.Status",
        "BillingStatusEnum": "billing.models.BillingAccount.Status",
        "InvitationStateEnum": "invitations.models.Invitation.State",
    },
}
# API keys are stored as HMAC-SHA256 under this secret (api/keys.py says why not a password
# hasher). Derived from SECRET_KEY unless given; changing it invalidates every key.
API_KEY_HASH_SECRET = env.str("API_KEY_HASH_SECRET", default="") or f"api-key-hash:{SECRET_KEY}"
API_KEY_LAST_USED_PRECISION_SECONDS = env.int("API_KEY_LAST_USED_PRECISION_SECONDS", default=60)
# A process re-checks a key it accepted in the rate limits' Redis round trip instead of a query;
# changes made through the models are seen at once, others (SQL by hand, QuerySet.update())
# within this many seconds (api/verified_keys.py). 0 looks every key up on every request.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=30)
# "<requests>/<seconds>", per caller (a key or a signed-in person) and per organization.
API_RATE_LIMIT_PER_CALLER = env.str("API_RATE_LIMIT_PER_CALLER", default="600/60")
API_RATE_LIMIT_PER_TENANT = env.str("API_RATE_LIMIT_PER_TENANT", default="3000/60")
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
API_IDEMPOTENCY_TTL_SECONDS = env.int("API_IDEMPOTENCY_TTL_SECONDS", default=24 * 3600)
# An in-flight request's hold on its key (longer than any request runs) and how long a
# concurrent duplicate waits for the first one's response before answering 409.
API_IDEMPOTENCY_LEASE_SECONDS = env.int("API_IDEMPOTENCY_LEASE_SECONDS", default=60)
API_IDEMPOTENCY_WAIT_SECONDS = env.float("API_IDEMPOTENCY_WAIT_SECONDS", default=10.0)

# --- Static files ------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded and generated files (reports, avatars, logos and their thumbnails) go through
# `default_storage`: the local disk under MEDIA_ROOT (development serves it at MEDIA_URL), or
# Google Cloud Storage through django-storages when GS_BUCKET_NAME is set (production: Terraform
# passes the bucket's name; credentials are the instance's service account, through Application
# Default Credentials).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/media/"
GS_BUCKET_NAME = env.str("GS_BUCKET_NAME", default="")
GS_DEFAULT_ACL = None  # the bucket's uniform access decides; files are private
GS_QUERYSTRING_AUTH = True  # file URLs are signed and expire
# Instance and Cloud Run credentials are tokens with no private key to sign a URL with, so
# signing goes through the IAM signBlob API as the account itself (Terraform grants each
# account Token Creator on itself alone). GS_SA_EMAIL names the signer when the credentials
# do not (a person's credentials impersonating the account); instance credentials do.
GS_IAM_SIGN_BLOB = env.bool("GS_IAM_SIGN_BLOB", default=True)
GS_SA_EMAIL = env.str("GS_SA_EMAIL", default="") or None
# A signed URL is only worth its expiry: an hour covers a page's images (a download goes
# through /jobs/download/ with its own shorter link instead).
GS_EXPIRATION = timedelta(seconds=env.int("GS_EXPIRATION_SECONDS", default=3600))
# Where a signed URL points (a page's <img> loads from it): the CSP's img-src names it.
CLOUD_STORAGE_ORIGIN = "https://storage.googleapis.com"
STORAGES = {
    "default": {
        "BACKEND": (
            "storages.backends.gcloud.GoogleCloudStorage"
            if GS_BUCKET_NAME
            else "django.core.files.storage.FileSystemStorage"
        )
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not IS_PRODUCTION

# --- Images (avatars, logos: images/) ------------------------------------------------------
# The largest image file accepted; below REQUEST_BODY_MAX_BYTES so a slightly larger one still
# reaches the form and gets a field message (a much larger body gets the 413 page).
IMAGE_UPLOAD_MAX_BYTES = env.int("IMAGE_UPLOAD_MAX_BYTES", default=4 * 1024 * 1024)
# Width x height: decoding costs memory in proportion (20 MP: 80 MB as RGBA).
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=20_000_000)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security headers (every environment) ---------------------------------------------------
# The Content Security Policy (django-csp; saas/csp.py adds the per-request parts: the socket's
# ws(s):// origin and a hand-off page's target). Scripts only from our static files or a
# <script> carrying the request's nonce; no inline style at all (app.css has every class).
# img data: is the two-factor setup's QR code (allauth renders it as an SVG data URI); with a
# bucket, avatars and logos load from their signed Cloud Storage URLs.
SAAS_PUBLIC_ORIGIN = f"{SAAS_SCHEME}://{SAAS_BASE_DOMAIN}{':' + SAAS_PUBLIC_PORT if SAAS_PUBLIC_PORT else ''}"
SAAS_TENANT_ORIGINS = (
    f"{SAAS_SCHEME}://*.{SAAS_BASE_DOMAIN}{':' + SAAS_PUBLIC_PORT if SAAS_PUBLIC_PORT else ''}"
)
# Where our forms may lead after a redirect (CSP form-action covers redirects): Stripe's
# Checkout and billing portal, or the stand-in serving both when STRIPE_API_BASE points at it.
CSP_FORM_ACTION_EXTRA = env.list(
    "CSP_FORM_ACTION_EXTRA",
    default=["https://checkout.stripe.com", "https://billing.stripe.com"]
    + ([STRIPE_API_BASE.rstrip("/")] if "api.stripe.com" not in STRIPE_API_BASE else []),
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", CSP_NONCE],
        "style-src": ["'self'", CSP_NONCE],
        "img-src": ["'self'", "data:", *([CLOUD_STORAGE_ORIGIN] if GS_BUCKET_NAME else [])],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", SAAS_PUBLIC_ORIGIN, SAAS_TENANT_ORIGINS, *CSP_FORM_ACTION_EXTRA],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
# Browser features no page of ours uses are switched off; WebAuthn (passkeys) stays on for our
# own pages only.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "camera": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "payment": [],
    "usb": [],
    "publickey-credentials-create": ["self"],
    "publickey-credentials-get": ["self"],
}
# Django's defaults, written down because the security review reads them here. Pages send the
# path-less origin to nobody outside (the hand-off page sends "origin", accounts/handoff.py).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Security (production) ---------------------------------------------------------------
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
    # Tenants live on subdomains: HSTS must cover them all.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    # /healthz and /readyz are answered before SecurityMiddleware, so plain-HTTP probes still work.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)

# Every missing name at once: a deploy should not discover them one restart at a time.
if _missing_in_production:
    raise ImproperlyConfigured(
        f"{', '.join(_missing_in_production)} must be set in production "
        f"(SAAS_ENVIRONMENT={env.str('SAAS_ENVIRONMENT', default='') or 'unset, which means production'}; "
        "a local run sets SAAS_ENVIRONMENT=development)"
    )

# --- Logs --------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")  # "json" or "console"
LOGGING_CONFIG = None
from saas.observability import configure_logging  # noqa: E402

configure_logging(level=LOG_LEVEL, fmt=LOG_FORMAT)

# --- Traces and error reports (saas/telemetry.py; README, "Observability") -----------------
# OpenTelemetry starts only when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP, the SDK's
# own OTEL_* variables apply); unset, no SDK is loaded at all.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
# Sentry starts only when SENTRY_DSN is set; no personal data unless SENTRY_SEND_DEFAULT_PII.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="") or env.str("APP_VERSION", default="")
# Sentry's own performance tracing, when OpenTelemetry is off (unset: none).
SENTRY_TRACES_SAMPLE_RATE: float | None = (
    env.float("SENTRY_TRACES_SAMPLE_RATE") if env.str("SENTRY_TRACES_SAMPLE_RATE", default="") else None
)
SENTRY_SEND_DEFAULT_PII = env.bool("SENTRY_SEND_DEFAULT_PII", default=False)

# User.email is unique through a case-insensitive functional constraint, which this check
# cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
