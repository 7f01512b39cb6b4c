import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts.services import membership_create
from invitations.cache import PENDING_KEY
from invitations.services import invitation_create
from tenants.models import Tenant
from tenants.services import tenant_provision
from tests.conftest import host_of, on_plan
from tests.factories import UserFactory


@pytest.fixture
def org(make_tenant):
    """A tenant on the Pro plan (10 seats) so that tests are not about the Free limit."""
    tenant = on_plan(make_tenant(), "pro")
    # Schema names repeat across runs and a rolled-back test never clears its cache entry.
    with schema_context(tenant.schema_name):
        cache.delete(PENDING_KEY)
    return tenant


@pytest.fixture
def owner(org, member_of):
    return member_of(org, UserFactory(email="owner@example.com"), role="owner")


@pytest.fixture
def admin(org, member_of):
    return member_of(org, UserFactory(email="admin@example.com"), role="admin")


@pytest.fixture
def plain_member(org, member_of):
    return member_of(org, UserFactory(email="member@example.com"), role="member")


@pytest.fixture
def invite(org, owner):
    """Make an invitation through the service; returns (invitation, raw token)."""
    from invitations.tokens import token_for_salt

    def make(email: str = "new.person@example.com", role: str = "member", inviter=None, tenant=None):
        invitation = invitation_create(tenant=tenant or org, inviter=inviter or owner, email=email, role=role)
        return invitation, token_for_salt(invitation.token_salt)

    return make


@pytest.fixture
def org_client(org):
    return Client(HTTP_HOST=host_of(org))


@pytest.fixture
def committed_org(transactional_db):
    """Tenants whose rows commit (threads see them); their schemas are dropped afterwards."""
    made: list[Tenant] = []

    def make(**kwargs):
        slug = f"inv{uuid.uuid4().hex[:10]}"
        tenant = on_plan(tenant_provision(name=slug.title(), slug=slug), kwargs.pop("plan", "pro"))
        made.append(tenant)
        return tenant

    yield make
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        for tenant in made:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')


def make_owner(tenant: Tenant, email: str = "owner@example.com"):
    user = UserFactory.create(email=email)
    membership_create(user=user, tenant=tenant, role="owner")
    return user
