"""One tenant's rows and cached values are out of reach from another tenant and from public."""

import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import ProgrammingError, connection, transaction
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from activity.models import AuditAction, AuditEvent
from activity.services import audit_record
from tests.conftest import host_of


@pytest.fixture
def two_tenants_with_members(make_tenant, member_of):
    first, second = make_tenant(), make_tenant()
    return (first, member_of(first)), (second, member_of(second))


def dashboard(tenant, user) -> bytes:
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content


def test_audit_row_of_one_tenant_is_not_shown_on_another_tenants_dashboard(two_tenants_with_members):
    (first, first_member), (second, second_member) = two_tenants_with_members
    with tenant_context(first):
        audit_record(action=AuditAction.INVITATION_CREATED, target="secret-only-in-first")

    # The row is on the first tenant's dashboard, so its absence below means something.
    assert b"secret-only-in-first" in dashboard(first, first_member)
    second_page = dashboard(second, second_member)
    assert b"secret-only-in-first" not in second_page
    assert b"joined as Member" in second_page  # the second tenant's own activity is listed

    # A member of the first tenant visiting the second tenant's host sees no data at all.
    intruder = Client(HTTP_HOST=host_of(second))
    intruder.force_login(first_member)
    response = intruder.get("/")
    assert response.status_code == 403
    assert b"secret-only-in-first" not in response.content
    assert b"joined as Member" not in response.content


def test_audit_row_of_one_tenant_is_not_found_from_another_tenants_schema(two_tenants_with_members):
    (first, _), (second, _) = two_tenants_with_members
    with tenant_context(first):
        event = audit_record(action=AuditAction.INVITATION_CREATED, target="secret-only-in-first")
    with tenant_context(second):
        assert not AuditEvent.objects.filter(target="secret-only-in-first").exists()
        # Not even by primary key: identity sequences are per schema, so the id may exist here
        # and then it must be the second tenant's own row.
        same_id = AuditEvent.objects.filter(pk=event.pk).first()
        assert same_id is None or same_id.target != "secret-only-in-first"
    with tenant_context(first):
        assert AuditEvent.objects.filter(target="secret-only-in-first").count() == 1


def test_public_schema_has_no_tenant_tables(tenant):
    with tenant_context(tenant):
        audit_record(action=AuditAction.INVITATION_CREATED)
    with schema_context("public"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [f"public.{AuditEvent._meta.db_table}"])
            assert cursor.fetchone() == (None,)
        with pytest.raises(ProgrammingError, match="does not exist"), transaction.atomic():
            list(AuditEvent.objects.all())


def redis_keys(pattern: str) -> list[str]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    return sorted(key.decode() for key in client.scan_iter(match=pattern))


def test_cached_value_is_only_readable_in_the_schema_that_wrote_it(make_tenant):
    first, second = make_tenant(), make_tenant()
    key = f"isolation:{uuid.uuid4().hex}"

    with tenant_context(first):
        cache.set(key, "first's secret", timeout=60)
        assert cache.get(key) == "first's secret"
    with tenant_context(second):
        assert cache.get(key) is None
        assert not cache.has_key(key)
        cache.set(key, "second's value", timeout=60)
    with schema_context("public"):
        assert cache.get(key) is None
        assert cache.get_many([key]) == {}
    with tenant_context(first):
        assert cache.get(key) == "first's secret"  # the second tenant's write went elsewhere
        cache.delete(key)
    with tenant_context(second):
        assert cache.get(key) == "second's value"  # and the first's delete did not reach it
        cache.delete(key)

    # In Redis itself the keys were apart: each carried its schema's name.
    with tenant_context(first):
        cache.set(key, "x", timeout=60)
    stored = redis_keys(f"*{key}")
    assert len(stored) == 1 and stored[0].startswith(f"{first.schema_name}:")
    with tenant_context(first):
        cache.delete(key)
