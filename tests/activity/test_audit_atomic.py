"""A change and its audit row commit together or not at all.

The audit insert is made to fail for real: the tenant's audit table is renamed for the moment
of the call, so PostgreSQL refuses the INSERT. The test runs in autocommit (transaction=True),
as a request does, so a service that is not atomic would leave its change committed.
"""

import pytest
from django.db import ProgrammingError, connection

from accounts.models import Membership
from accounts.services import membership_create
from activity.models import AuditEvent
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_a_membership_without_its_audit_row_is_not_kept(make_tenant):
    tenant = make_tenant()
    user = UserFactory.create()
    table = f'"{tenant.schema_name}"."{AuditEvent._meta.db_table}"'
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO audit_away")
    try:
        with pytest.raises(ProgrammingError):
            membership_create(user=user, tenant=tenant, role=Membership.Role.MEMBER)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f'ALTER TABLE "{tenant.schema_name}".audit_away RENAME TO "{AuditEvent._meta.db_table}"'
            )

    assert not Membership.objects.filter(user=user, tenant=tenant).exists()

    # With the table back, the same call keeps both.
    membership_create(user=user, tenant=tenant, role=Membership.Role.MEMBER)
    assert Membership.objects.filter(user=user, tenant=tenant).exists()
