"""Settings for bench/tenant_request.py: the project's settings, routed four ways.

BENCH_ROUTING picks how a request finds its schema (BENCH_TENANT_SCHEMA names the tenant's):
- "ours":           the project as deployed (TenantResolutionMiddleware, tenants backend);
- "plain":          no tenant routing at all: Django's own PostgreSQL backend whose
                    connections start with search_path set to the tenant's schema, as a
                    single-schema application would;
- "ours_stock_backend": our middleware on django-tenants' backend (what ours saves);
- "django_tenants": django-tenants' TenantMainMiddleware and its backend, with the same
                    TENANT_LIMIT_SET_CALLS = True our settings use.
Everything else (middleware, logging, the connection pool) is the same in all of them.
"""

import os

from config.settings import *  # noqa: F403
from config.settings import CACHES, DATABASES, MIDDLEWARE

ROUTING = os.environ.get("BENCH_ROUTING", "ours")
ROOT_URLCONF = "bench.urls"

# bench/tenant_request.py sets DB_POOL_MAX_SIZE, so all of them use Django's psycopg pool
# (config/settings.py): under ASGI, persistent connections pile up one per request thread.

# The bench finds each server's PostgreSQL backends by this name, to count their CPU time.
DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = f"bench-{ROUTING}"

if ROUTING == "plain":
    MIDDLEWARE = [m for m in MIDDLEWARE if m != "tenants.middleware.TenantResolutionMiddleware"]
    DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
    _schema = os.environ["BENCH_TENANT_SCHEMA"]
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c search_path={_schema},public"
    # django-tenants' key function reads connection.schema_name, which this backend lacks.
    CACHES["default"].pop("KEY_FUNCTION")
    CACHES["default"].pop("REVERSE_KEY_FUNCTION")
elif ROUTING == "ours_stock_backend":
    # Our middleware on django-tenants' own backend: what tenants.postgresql_backend saves.
    DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
elif ROUTING == "django_tenants":
    MIDDLEWARE = [
        "django_tenants.middleware.main.TenantMainMiddleware"
        if m == "tenants.middleware.TenantResolutionMiddleware"
        else m
        for m in MIDDLEWARE
    ]
    DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
elif ROUTING != "ours":
    raise ValueError(f"unknown BENCH_ROUTING {ROUTING!r}")
