"""manage.py create_tenant: a tenant with its owner, from the command line."""

import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import Membership, User
from tenants.models import Tenant
from tests.tenants.conftest import schema_names


def test_create_tenant_command_provisions_tenant_and_owner(db):
    out = io.StringIO()
    call_command(
        "create_tenant",
        "globex",
        "Globex Corp",
        "Hank@Globex.example",
        "--domain",
        "globex.example",
        "--password",
        "s3cret-long-enough",
        stdout=out,
    )
    tenant = Tenant.objects.get(slug="globex")
    assert f"Created Globex Corp (t_globex) at globex.{settings.SAAS_BASE_DOMAIN}" in out.getvalue()
    assert "globex.example" in out.getvalue()
    owner = User.objects.get(email="hank@globex.example")
    assert owner.check_password("s3cret-long-enough")
    assert Membership.objects.get(tenant=tenant, user=owner).role == Membership.Role.OWNER
    assert "t_globex" in schema_names()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["www", "Web", "a@example.com"], "slug: “www” is reserved; choose another subdomain."),
        (
            ["Bad_Slug", "Bad", "a@example.com"],
            "slug: Use lowercase letters, digits and hyphens; start and end with a letter or digit.",
        ),
        (["fine", "Fine", "not-an-email"], "email: Enter a valid email address."),
        (["fine", "", "a@example.com"], "name: This field cannot be blank."),
        (
            ["fine", "Fine", "a@example.com", "--domain", settings.SAAS_BASE_DOMAIN],
            "domain: The base domain is the public site, not a tenant.",
        ),
        (
            ["fine", "Fine", "a@example.com", "--domain", "no spaces.example"],
            "domain: “no spaces.example” is not a valid host name.",
        ),
    ],
)
def test_create_tenant_command_reports_bad_input(db, arguments, message):
    users_before = User.objects.count()
    with pytest.raises(CommandError) as caught:
        call_command("create_tenant", *arguments, stdout=io.StringIO())
    assert str(caught.value) == message
    assert not Tenant.objects.exists()
    assert User.objects.count() == users_before  # the owner account is rolled back too


def test_create_tenant_command_reports_taken_slug_and_missing_arguments(make_tenant):
    make_tenant(slug="initech")
    with pytest.raises(CommandError, match="^slug: This subdomain is already taken.$"):
        call_command("create_tenant", "initech", "Initech", "bill@initech.example")
    with pytest.raises(CommandError, match="the following arguments are required: owner_email"):
        call_command("create_tenant", "initech", "Initech")
