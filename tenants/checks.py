"""System checks: refuse a database pooling mode the tenant backend cannot serve safely."""

from django.conf import settings
from django.core.checks import CheckMessage, Error

POOLING_MODES = ("session", "transaction")


def pooling_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    mode = getattr(settings, "DATABASE_POOLING", "session")
    if mode not in POOLING_MODES:
        return [
            Error(
                f"DATABASE_POOLING={mode!r} is not served: use 'session' (no pooler, or PgBouncer's "
                "session mode) or 'transaction' (PgBouncer's transaction mode). Statement pooling "
                "splits transactions across server connections, so neither a transaction nor a "
                "tenant's search path would hold.",
                id="tenants.E001",
            )
        ]
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if mode == "transaction" and options.get("server_side_binding"):
        return [
            Error(
                "DATABASE_POOLING=transaction sends the search path with each statement, which "
                "needs client-side binding: remove OPTIONS['server_side_binding'].",
                id="tenants.E002",
            )
        ]
    return []
