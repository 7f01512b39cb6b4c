"""The tenant guard: one rule for every tenant page (and later the API and sockets)."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.guard import TenantAccessDenied, tenant_access
from accounts.models import Membership
from tests.conftest import host_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# (path, method, the lowest role that may use it)
GUARDED = [
    ("/", "get", "member"),
    ("/members/", "get", "member"),
    ("/members/", "post", "admin"),
    ("/billing/", "get", "admin"),
    ("/billing/upgrade/", "post", "admin"),
    ("/billing/manage/", "post", "admin"),
]


def client_for(tenant, user=None) -> Client:
    client = Client(HTTP_HOST=host_of(tenant))
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(("path", "method", "role"), GUARDED)
def test_anonymous_visitors_are_sent_to_the_public_login(tenant, path, method, role):
    response = getattr(client_for(tenant), method)(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"http://{settings.SAAS_BASE_DOMAIN}:")
    assert "/login/?next=" in response["Location"]


@pytest.mark.parametrize(("path", "method", "role"), GUARDED)
def test_members_of_another_organization_get_403_without_this_ones_data(
    make_tenant, member_of, path, method, role
):
    tenant, other = make_tenant(name="Hidden Name Inc"), make_tenant()
    outsider = member_of(other, role="owner")
    response = getattr(client_for(tenant, outsider), method)(path)
    assert response.status_code == 403
    assert "You are not a member" in response.content.decode()
    assert "Hidden Name Inc" not in response.content.decode()  # not even the name (review item 15)


@pytest.mark.parametrize(("path", "method", "role"), [g for g in GUARDED if g[2] == "admin"])
def test_a_lower_role_gets_403_saying_who_may(tenant, member_of, path, method, role):
    member = member_of(tenant, role="member")
    response = getattr(client_for(tenant, member), method)(path)
    assert response.status_code == 403
    assert "owners and admins" in response.content.decode()


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
def test_members_reach_the_dashboard_with_their_membership(tenant, member_of, role):
    user = member_of(tenant, role=role)
    response = client_for(tenant, user).get("/")
    assert response.status_code == 200
    assert response.wsgi_request.membership.role == role  # type: ignore[attr-defined]
    assert response.wsgi_request.membership.user_id == user.pk  # type: ignore[attr-defined]


def test_the_membership_is_read_once_per_request(tenant, member_of, django_assert_max_num_queries):
    user = member_of(tenant, role="admin")
    client = client_for(tenant, user)
    client.get("/billing/")  # warm caches (content types, sessions)
    with django_assert_max_num_queries(50) as captured:
        client.get("/billing/")
    # The guard's lookup of this user's membership here (others list or count memberships).
    guard_reads = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "accounts_membership"') and q["sql"].endswith("LIMIT 1")
    ]
    assert len(guard_reads) == 1, guard_reads


def test_a_removed_member_is_refused_on_the_next_request(tenant, member_of):
    user = member_of(tenant)
    client = client_for(tenant, user)
    assert client.get("/").status_code == 200
    Membership.objects.filter(user=user, tenant=tenant).delete()
    assert client.get("/").status_code == 403


def test_the_rule_refuses_inactive_users_and_ranks_roles(tenant, member_of):
    admin = member_of(tenant, role="admin")
    assert tenant_access(user=admin, tenant=tenant, role="member").role == "admin"
    assert tenant_access(user=admin, tenant=tenant, role="admin").role == "admin"
    with pytest.raises(TenantAccessDenied) as denied:
        tenant_access(user=admin, tenant=tenant, role="owner")
    assert denied.value.reason == TenantAccessDenied.ROLE_TOO_LOW
    admin.is_active = False
    with pytest.raises(TenantAccessDenied) as denied:
        tenant_access(user=admin, tenant=tenant)
    assert denied.value.reason == TenantAccessDenied.NOT_SIGNED_IN
    with pytest.raises(TenantAccessDenied) as denied:
        tenant_access(user=UserFactory.create(), tenant=tenant)
    assert denied.value.reason == TenantAccessDenied.NOT_A_MEMBER
