"""The schema the current database connection works in (django-tenants' backend sets it)."""

from django.db import connection


def current_schema() -> str:
    """The schema name queries on the default connection run in now ("public" outside tenants)."""
    return connection.schema_name  # type: ignore[attr-defined]  # django-tenants adds it
