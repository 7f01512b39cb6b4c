"""tenant_dump / tenant_restore: a round trip beside the original, and back after a deletion."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import Membership, User
from accounts.services import membership_create
from billing.models import BillingAccount
from billing.selectors import billing_account_get
from invitations.models import Invitation
from invitations.services import invitation_create
from projects.models import Project
from projects.services import project_create
from tenants.models import Domain, Tenant
from tenants.services import tenant_provision

pytestmark = pytest.mark.usefixtures("drop_new_tenant_schemas")


@pytest.fixture
def organization(transactional_db):
    tenant = tenant_provision(name="Backup Co", slug="backupco")
    owner = User.objects.create_user("owner@backup.example", "owner-passphrase-long-73")
    membership_create(user=owner, tenant=tenant, role="owner")
    billing_account_get(tenant=tenant)
    BillingAccount.objects.filter(tenant=tenant).update(plan="pro", seats=7)
    with schema_context(tenant.schema_name):
        for number in range(3):
            project_create(tenant=tenant, actor=owner, name=f"Project {number}")
    invitation_create(tenant=tenant, inviter=owner, email="new@backup.example", role="member")
    return tenant


def projects_of(slug: str) -> list[str]:
    with schema_context(Tenant.objects.get(slug=slug).schema_name):
        return sorted(Project.objects.values_list("name", flat=True))


def test_restore_beside_the_original_and_after_deleting_it(organization, tmp_path):
    dump = tmp_path / "backupco.json"
    call_command("tenant_dump", "backupco", str(dump))
    assert json.loads(dump.read_text())["tenant"]["slug"] == "backupco"

    call_command("tenant_restore", str(dump), slug="backupcopy")
    copy = Tenant.objects.get(slug="backupcopy")
    assert copy.schema_name == "t_backupcopy"
    assert projects_of("backupcopy") == ["Project 0", "Project 1", "Project 2"]
    assert projects_of("backupco") == ["Project 0", "Project 1", "Project 2"]  # the original untouched
    assert list(Domain.objects.filter(tenant=copy).values_list("domain", "is_primary")) == [
        ("backupcopy.localhost", True)
    ]
    assert Membership.objects.get(tenant=copy).user.email == "owner@backup.example"
    assert BillingAccount.objects.filter(tenant=copy, plan="pro", seats=7).exists()
    # The invitation's link belongs to the original; the copy does not take it over.
    assert not Invitation.objects.filter(tenant=copy).exists()
    with schema_context(copy.schema_name):
        project_create(tenant=copy, actor=User.objects.get(), name="Only in the copy")
    assert "Only in the copy" not in projects_of("backupco")

    # Deleted, then back under its own slug with everything.
    schema = organization.schema_name
    organization.delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
    call_command("tenant_restore", str(dump))
    restored = Tenant.objects.get(slug="backupco")
    assert projects_of("backupco") == ["Project 0", "Project 1", "Project 2"]
    assert Invitation.objects.get(tenant=restored).email == "new@backup.example"
    assert Domain.objects.get(tenant=restored).domain == "backupco.localhost"


def test_restore_refuses_a_slug_in_use(organization, tmp_path):
    dump = tmp_path / "backupco.json"
    call_command("tenant_dump", "backupco", str(dump))
    with pytest.raises(CommandError, match="A tenant backupco exists"):
        call_command("tenant_restore", str(dump))
    with pytest.raises(CommandError, match="No tenant nosuch"):
        call_command("tenant_dump", "nosuch", str(tmp_path / "x.json"))
