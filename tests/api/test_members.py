"""Members over the API: change a role and remove, through accounts' services and their rules."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Membership
from activity.models import AuditAction, AuditEvent
from tests.api.conftest import Api, problem_of
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(tenant, make_key) -> Api:
    return Api(host_of(tenant), make_key("members:write"))


def membership(tenant, user) -> Membership:
    return Membership.objects.get(tenant=tenant, user=user)


def test_an_owners_key_changes_a_role_with_its_audit_row(tenant, owner, member_of, writer):
    member = member_of(tenant, role="member")
    response = writer.patch(f"/api/v1/members/{membership(tenant, member).pk}/", {"role": "admin"})
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "admin"
    assert membership(tenant, member).role == "admin"
    from django_tenants.utils import schema_context

    with schema_context(tenant.schema_name):
        assert AuditEvent.objects.filter(action=AuditAction.MEMBER_ROLE_CHANGED).count() == 1


def test_remove_then_the_removed_member_is_refused(tenant, member_of, writer):
    member = member_of(tenant, role="member")
    browser = Client(HTTP_HOST=host_of(tenant))
    browser.force_login(member)
    assert browser.get("/").status_code == 200
    assert writer.delete(f"/api/v1/members/{membership(tenant, member).pk}/").status_code == 204
    assert not Membership.objects.filter(tenant=tenant, user=member).exists()
    assert browser.get("/").status_code == 403  # access ends at once


def test_the_rules_answer_with_problems(tenant, owner, member_of, make_key):
    admin = member_of(tenant, role="admin")
    by_admin = Api(host_of(tenant), make_key("members:write", actor=admin))
    owner_id = membership(tenant, owner).pk
    # An admin cannot touch an owner.
    refused = by_admin.patch(f"/api/v1/members/{owner_id}/", {"role": "member"})
    assert refused.status_code == 403 and problem_of(refused)["code"] == "forbidden"
    assert by_admin.delete(f"/api/v1/members/{owner_id}/").status_code == 403
    # The last owner cannot be demoted, even by themselves.
    by_owner = Api(host_of(tenant), make_key("members:write"))
    last = by_owner.patch(f"/api/v1/members/{owner_id}/", {"role": "admin"})
    assert last.status_code in (403, 409) and problem_of(last)["code"] in ("last_owner", "self")
    assert membership(tenant, owner).role == "owner"
    # Bad input gets field errors; unknown fields are refused.
    bad = by_owner.patch(f"/api/v1/members/{membership(tenant, admin).pk}/", {"role": "emperor"})
    assert bad.status_code == 400 and problem_of(bad)["errors"][0]["field"] == "role"
    extra = by_owner.patch(f"/api/v1/members/{membership(tenant, admin).pk}/", {"role": "member", "x": 1})
    assert extra.status_code == 400


def test_members_of_other_organizations_are_404_and_read_keys_cannot_write(
    tenant, make_tenant, member_of, make_key
):
    other = make_tenant()
    stranger = member_of(other, role="member")
    writer = Api(host_of(tenant), make_key("members:write"))
    foreign = Membership.objects.get(tenant=other, user=stranger).pk
    assert writer.patch(f"/api/v1/members/{foreign}/", {"role": "admin"}).status_code == 404
    assert writer.delete(f"/api/v1/members/{foreign}/").status_code == 404
    reader = Api(host_of(tenant), make_key("members:read"))
    member = member_of(tenant, role="member")
    refused = reader.patch(f"/api/v1/members/{membership(tenant, member).pk}/", {"role": "admin"})
    assert refused.status_code == 403 and problem_of(refused)["code"] == "scope_missing"
    assert Membership.objects.get(tenant=other, user=stranger).role == "member"
