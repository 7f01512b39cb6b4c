import itertools
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.services import membership_create
from devtools.stripe_fake import FakeStripe
from tenants.resolution import resolver
from tenants.services import tenant_provision
from tests.factories import UserFactory

_slugs = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_tenant_state():
    """Each test starts on the public schema with no host mapping left by an earlier test.

    Tests that roll back never commit, so the on-commit invalidation of the resolver's
    per-process cache never runs for the tenants they made.
    """
    resolver.clear()
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    yield
    resolver.clear()
    connection.set_schema_to_public()  # type: ignore[attr-defined]


@pytest.fixture
def make_tenant(db):
    """Provision a tenant through the real service; slugs are unique per test run."""

    def make(slug: str | None = None, name: str | None = None, **kwargs):
        slug = slug or f"org{next(_slugs)}"
        return tenant_provision(name=name or slug.title(), slug=slug, **kwargs)

    return make


@pytest.fixture
def tenant(make_tenant):
    return make_tenant()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def member_of(db):
    def make(tenant, user=None, role="member"):
        user = user or UserFactory()
        membership_create(user=user, tenant=tenant, role=role)
        return user

    return make


def host_of(tenant) -> str:
    return tenant.domains.get(is_primary=True).domain


@pytest.fixture
def public_client(db) -> Client:
    return Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN)


@pytest.fixture
def tenant_client(tenant) -> Client:
    return Client(HTTP_HOST=host_of(tenant))


@pytest.fixture
def drop_new_tenant_schemas(transactional_db):
    """transactional_db truncates tables but keeps schemas; drop the ones this test made."""

    def schemas() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%%'")
            return {row[0] for row in cursor.fetchall()}

    before = schemas()
    yield
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        for name in sorted(schemas() - before):
            cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def stripe_fake() -> Iterator[FakeStripe]:
    """The Stripe API stand-in on a loopback port (a real HTTP server)."""
    fake = FakeStripe().start()
    yield fake
    fake.stop()
