"""Liveness and readiness, answered for any Host (load balancers probe by IP).

Readiness runs every check in the registry. The kernel registers the database, Redis and
public-schema migrations; apps register their own from `AppConfig.ready()` with
`health_check_register(name, check)` (tenants adds its provisioning template), so the kernel
needs to know no app. A check raises to fail; its message is shown under its name.
"""

from collections.abc import Callable

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_tenants.utils import schema_context


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_redis() -> None:
    # Django's own methods, not the cache's: saas/cache.py turns Redis errors into misses,
    # which would hide why readiness fails.
    backend = caches["default"]
    strict = RedisCache if isinstance(backend, RedisCache) else type(backend)
    with schema_context("public"):
        strict.set(backend, "health:ping", "1", timeout=10)
        if strict.get(backend, "health:ping") != "1":
            raise RuntimeError("Redis did not return the value just written")


_migrations_applied = False


def check_migrations() -> None:
    """Public schema fully migrated.

    The migration plan (~10 ms) is computed until it is empty once: migrations only arrive
    with new code, hence a new process.
    """
    global _migrations_applied
    if not _migrations_applied:
        with schema_context("public"):
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise RuntimeError(f"{len(pending)} migrations not applied: run `manage.py migrate_schemas`")
        _migrations_applied = True


CHECKS: dict[str, Callable[[], None]] = {}


def health_check_register(name: str, check: Callable[[], None]) -> None:
    """Add a readiness check (idempotent: registering a name again replaces it)."""
    CHECKS[name] = check


health_check_register("database", check_database)
health_check_register("redis", check_redis)
health_check_register("migrations", check_migrations)


def readiness() -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # each failure is reported by name, never raised
            results[name] = f"failing: {type(error).__name__}: {error}"[:300]
        else:
            results[name] = "ok"
    return all(v == "ok" for v in results.values()), results


class HealthCheckMiddleware:
    """Answer /healthz and /readyz before host routing, logging or sessions get involved."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            ready, checks = readiness()
            return JsonResponse(
                {"status": "ok" if ready else "unavailable", "checks": checks},
                status=200 if ready else 503,
            )
        return self.get_response(request)
