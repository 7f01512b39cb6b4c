import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.services import membership_create
from billing.models import BillingAccount
from devtools.stripe_fake import FakeStripe
from tenants.resolution import resolver
from tenants.services import tenant_provision
from tests.factories import UserFactory
from tests.handoff_page import HANDOFF_FORM

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


def on_plan(tenant, plan: str, **billing):
    """Put a tenant on a billing plan (test set-up: in the product only billing's services write it)."""
    BillingAccount.objects.update_or_create(tenant=tenant, defaults={"plan": plan, **billing})
    return tenant


def host_of(tenant) -> str:
    return tenant.domains.get(is_primary=True).domain


def public_origin() -> str:
    """The Origin header a browser sends from a page of the public host."""
    port = f":{settings.SAAS_PUBLIC_PORT}" if settings.SAAS_PUBLIC_PORT else ""
    return f"{settings.SAAS_SCHEME}://{settings.SAAS_BASE_DOMAIN}{port}"


def handoff_of(response: Any) -> tuple[str, str]:
    """The tenant host and token a hand-off page carries (its form's action and hidden field)."""
    assert response.status_code == 200, response.status_code
    found = HANDOFF_FORM.search(response.content.decode())
    assert found, "not a hand-off page"
    return urlsplit(found["action"]).hostname or "", found["token"]


def follow_handoff(response: Any, *, origin: str | None = None, client: Client | None = None):
    """Do what a hand-off page's script does: POST its token to the tenant host.

    Returns the tenant host's client (its session now logged in) and the response.
    """
    host, token = handoff_of(response)
    client = client or Client(HTTP_HOST=host)
    answer = client.post("/auth/handoff/", {"token": token}, HTTP_ORIGIN=origin or public_origin())
    return client, answer


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
