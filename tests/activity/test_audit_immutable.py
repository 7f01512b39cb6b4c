"""Audit rows cannot be changed or deleted through the app: the database refuses it."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context

from activity.models import AuditAction, AuditEvent
from activity.services import audit_actor_erase, audit_record

TABLE = AuditEvent._meta.db_table


@pytest.fixture
def row(tenant, user):
    with schema_context(tenant.schema_name):
        return audit_record(
            action=AuditAction.TENANT_RENAMED, actor=user, target="x", changes={"name": ("a", "b")}
        )


def refused(statement, *params):
    with (
        pytest.raises(DatabaseError, match="audit events cannot be changed or deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, params)


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {TABLE} SET target = 'forged' WHERE id = %s",
        # The erasure's shape, but with another column changed too.
        f"UPDATE {TABLE} SET actor_id = NULL, actor_email = '', actor_erased = true, target = 'y' "
        "WHERE id = %s",
        f"UPDATE {TABLE} SET created_at = created_at - interval '1 day' WHERE id = %s",
        f"DELETE FROM {TABLE} WHERE id = %s",
    ],
)
def test_raw_sql_cannot_change_or_delete_a_row(tenant, row, statement):
    with schema_context(tenant.schema_name):
        refused(statement, row.pk)
        assert AuditEvent.objects.get(pk=row.pk).target == "x"


def test_truncate_is_refused(tenant, row):
    with schema_context(tenant.schema_name):
        refused(f"TRUNCATE {TABLE}")
        assert AuditEvent.objects.filter(pk=row.pk).exists()


def test_the_orm_cannot_change_or_delete_a_row(tenant, row):
    with schema_context(tenant.schema_name):
        row.target = "forged"
        with pytest.raises(DatabaseError), transaction.atomic():
            row.save()
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=row.pk).update(data={"forged": True})
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.get(pk=row.pk).delete()
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.all().delete()
        fresh = AuditEvent.objects.get(pk=row.pk)
        assert (fresh.target, fresh.data) == ("x", {})


def test_erasing_a_deleted_accounts_actor_is_the_one_change_allowed(tenant, row, user):
    with schema_context(tenant.schema_name):
        assert audit_actor_erase(user_id=user.pk) == 1
        fresh = AuditEvent.objects.get(pk=row.pk)
        assert (fresh.actor_id, fresh.actor_email, fresh.actor_erased) == (None, "", True)
        assert (fresh.target, fresh.changes, fresh.action) == ("x", {"name": ["a", "b"]}, row.action)
        assert fresh.actor_name == "A deleted user"


def test_dropping_the_tenant_schema_still_works(tenant, row):
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{tenant.schema_name}" CASCADE')
        cursor.execute("SELECT to_regnamespace(%s)", [tenant.schema_name])
        assert cursor.fetchone() == (None,)


def test_new_tenants_get_the_trigger(make_tenant):
    """Provisioning copies the template, triggers included (tenants.schema_template)."""
    tenant = make_tenant()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass ORDER BY tgname",
            [f'"{tenant.schema_name}".{TABLE}'],
        )
        assert [name for (name,) in cursor.fetchall()] == [
            "activity_auditevent_immutable",
            "activity_auditevent_no_truncate",
        ]
