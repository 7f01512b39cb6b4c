import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from tenants.models import SchemaMigration
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_lists_failed_schemas_and_says_which_are_behind(public_client, make_tenant):
    behind, current = make_tenant(), make_tenant()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM \"{behind.schema_name}\".django_migrations WHERE app = 'projects'")
    SchemaMigration.objects.create(
        schema_name=current.schema_name,
        state=SchemaMigration.State.FAILED,
        attempts=2,
        error='Traceback\nProgrammingError: relation "projects_project" already exists',
    )
    public_client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = public_client.get("/admin/tenants/schemamigration/?state=failed").content.decode()

    assert f"1 schema(s) behind the code: {behind.schema_name}." in page
    assert current.schema_name in page
    assert "relation &quot;projects_project&quot; already exists" in page


def test_migrate_schemas_refuses_transaction_pooling():
    with (
        override_settings(DATABASE_POOLING="transaction"),
        pytest.raises(CommandError, match="session of its own"),
    ):
        call_command("migrate_schemas", interactive=False, verbosity=0)
