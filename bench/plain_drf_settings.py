"""Settings for bench/api.py's peer: plain DRF with no tenancy and no key, under gunicorn.

The project's settings without tenant routing (Django's own PostgreSQL backend, its
connections starting in the tenant's schema, as a single-schema application would), no
authentication or permission classes, and DRF's own cursor pagination: what a founder would
write without any of this project's API machinery.
"""

import os

from config.settings import *  # noqa: F403
from config.settings import CACHES, DATABASES, MIDDLEWARE

ROOT_URLCONF = "bench.plain_drf_urls"
MIDDLEWARE = [m for m in MIDDLEWARE if m != "tenants.middleware.TenantResolutionMiddleware"]
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
    f"-c search_path={os.environ['BENCH_TENANT_SCHEMA']},public"
)
CACHES["default"].pop("KEY_FUNCTION")
CACHES["default"].pop("REVERSE_KEY_FUNCTION")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
