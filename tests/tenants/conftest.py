"""Fixtures for tests that commit: their schemas outlive the test's flush, so they drop them."""

import uuid

import pytest
from django.db import connection

from tenants.schema_template import quote
from tenants.services import tenant_provision


def unique_slug(prefix: str = "tx") -> str:
    """A slug no earlier run can have left a schema behind for (schemas survive a flush)."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def schema_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {name for (name,) in cursor.fetchall()}


@pytest.fixture
def schemas_to_drop(transactional_db):
    """Names appended here are dropped after the test, whatever happened in it."""
    names: list[str] = []
    yield names
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote(name)} CASCADE")


@pytest.fixture
def committed_tenant(schemas_to_drop):
    """Provision tenants in committed transactions (for on_commit and migrate_schemas)."""

    def make(**kwargs):
        kwargs.setdefault("slug", unique_slug())
        kwargs.setdefault("name", kwargs["slug"].title())
        tenant = tenant_provision(**kwargs)
        schemas_to_drop.append(tenant.schema_name)
        return tenant

    return make
