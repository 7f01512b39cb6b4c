"""System checks: refuse a database pooling mode the tenant backend cannot serve safely, and
warn when PostgreSQL cannot keep the tenants' files open."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.db import DatabaseError, connection

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


# One query: the server's open-files budget per process, the tenants, and the relations with a
# file of their own in one tenant schema (the template: every tenant is a copy of it).
_OPEN_FILES_SQL = """
SELECT current_setting('max_files_per_process')::int,
       (SELECT count(*) FROM {tenants}),
       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = %s AND c.relkind IN ('r', 'i', 'S', 'm', 't'))
"""


def open_files_check(app_configs=None, databases=None, **kwargs) -> list[CheckMessage]:
    """A database check (`check --database default`; `migrate` runs it): warn when one
    connection serving every tenant's pages would need more files than PostgreSQL keeps open.

    Past max_files_per_process a backend closes its least recently used file to open the next:
    with 1,000 tenants and a connection moving over 200 of them, every request reopened the six
    files of the table it read, 40-50 µs of PostgreSQL's CPU (docs/benchmarks.md, the scale
    section).
    """
    if not databases or "default" not in databases:
        return []
    try:
        limit, tenants, relations = open_files_budget()
    except DatabaseError:
        return []  # not migrated yet: migrate's own errors say more
    return open_files_warnings(limit=limit, tenants=tenants, relations=relations)


def open_files_budget() -> tuple[int, int, int]:
    """(max_files_per_process, tenants, relations with a file in one tenant schema)."""
    from tenants.models import Tenant
    from tenants.schema_template import template_schema

    with connection.cursor() as cursor:
        cursor.execute(_OPEN_FILES_SQL.format(tenants=Tenant._meta.db_table), [template_schema()])
        return cursor.fetchone()


def open_files_warnings(*, limit: int, tenants: int, relations: int) -> list[CheckMessage]:
    needed = tenants * relations
    if needed <= limit:
        return []
    return [
        Warning(
            f"PostgreSQL keeps at most {limit} files open per connection (max_files_per_process), "
            f"and the {tenants} tenant schemas have {needed} table and index files ({relations} "
            "each): a connection that has served more tenants than fit closes and reopens files "
            "on their queries.",
            hint=f"Raise max_files_per_process towards {needed} (a server setting: restart "
            "PostgreSQL; its open-files limit, `ulimit -n`, must allow as many). README: "
            "PostgreSQL settings for many schemas.",
            id="tenants.W001",
        )
    ]
