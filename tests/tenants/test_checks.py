"""tenants.W001: PostgreSQL's open-files budget against the files the tenant schemas have."""

from django.conf import settings
from django.core.checks import Tags, run_checks
from django.db import connection

from tenants.checks import open_files_budget, open_files_check, open_files_warnings
from tenants.models import Tenant


def test_the_warning_starts_where_the_tenants_files_outgrow_the_budget():
    assert open_files_warnings(limit=1000, tenants=40, relations=25) == []
    (warning,) = open_files_warnings(limit=1000, tenants=41, relations=25)
    assert warning.id == "tenants.W001"
    assert "at most 1000 files" in warning.msg
    assert "41 tenant schemas have 1025 table and index files (25 each)" in warning.msg
    assert "towards 1025" in (warning.hint or "")


def test_the_check_reads_the_server_the_tenants_and_the_template_schemas_files(make_tenant):
    make_tenant()
    make_tenant()
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_files_per_process")
        limit = int(cursor.fetchone()[0])
        # Counted another way: the template's relations that have a file on disk.
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND pg_relation_filepath(c.oid) IS NOT NULL",
            [settings.TENANT_TEMPLATE_SCHEMA],
        )
        relations = cursor.fetchone()[0]
    assert relations > 10  # the tenant apps' tables, their indexes and sequences
    assert open_files_budget() == (limit, Tenant.objects.count(), relations)
    # With so few tenants the server keeps them all open (the default's 1,000 would do).
    assert Tenant.objects.count() * relations <= limit
    assert open_files_check(databases=["default"]) == []


def test_it_is_a_database_check_and_stays_off_without_one(db):
    assert open_files_check() == []
    assert open_files_check(databases=["other"]) == []
    messages = run_checks(tags=[Tags.database], databases=["default"])
    assert not [message for message in messages if message.id == "tenants.W001"]
