"""Member management services: each allowed and refused case, with its audit row, event and effect."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from accounts.errors import MembershipError
from accounts.models import Membership
from accounts.services import (
    membership_leave,
    membership_remove,
    membership_role_change,
    organization_create,
    tenant_ownership_transfer,
    tenant_rename,
)
from activity.models import AuditAction, AuditEvent
from saas.models import OutboxEvent
from tests.conftest import follow_handoff, host_of

pytestmark = pytest.mark.django_db

OWNER, ADMIN, MEMBER = Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER


@pytest.fixture
def team(tenant, member_of):
    users = {role: member_of(tenant, role=role) for role in (OWNER, ADMIN, MEMBER)}
    return tenant, users


def membership(tenant, user) -> Membership:
    return Membership.objects.select_related("user", "tenant").get(tenant=tenant, user=user)


def audit_rows(tenant, action):
    with schema_context(tenant.schema_name):
        return list(AuditEvent.objects.filter(action=action).values("actor_email", "target", "data"))


def events(name, tenant):
    return list(
        OutboxEvent.objects.filter(name=name, tenant_schema=tenant.schema_name).values_list(
            "payload", flat=True
        )
    )


def test_admin_changes_a_members_role_with_audit_row_and_event(team):
    tenant, users = team
    changed = membership_role_change(
        actor=users[ADMIN], membership=membership(tenant, users[MEMBER]), role=ADMIN
    )
    assert changed.role == ADMIN and membership(tenant, users[MEMBER]).role == ADMIN
    [row] = audit_rows(tenant, AuditAction.MEMBER_ROLE_CHANGED)
    assert row["actor_email"] == users[ADMIN].email and row["target"] == users[MEMBER].email
    assert row["data"]["role"] == ADMIN and row["data"]["previous_role"] == MEMBER
    [payload] = events("member.role_changed", tenant)
    assert payload["user_id"] == users[MEMBER].pk and payload["role"] == ADMIN


@pytest.mark.parametrize(
    ("actor_role", "target_role", "new_role", "code"),
    [
        (ADMIN, OWNER, MEMBER, "forbidden"),  # an admin cannot touch an owner
        (ADMIN, MEMBER, OWNER, "role"),  # nor give a role above their own
        (MEMBER, ADMIN, MEMBER, "forbidden"),  # members manage nobody
    ],
)
def test_role_change_refused(team, actor_role, target_role, new_role, code):
    tenant, users = team
    with pytest.raises(MembershipError) as refused:
        membership_role_change(
            actor=users[actor_role], membership=membership(tenant, users[target_role]), role=new_role
        )
    assert refused.value.code == code
    assert membership(tenant, users[target_role]).role == target_role
    assert audit_rows(tenant, AuditAction.MEMBER_ROLE_CHANGED) == []


def test_the_last_owner_cannot_be_demoted_but_one_of_two_can(team, member_of):
    tenant, users = team
    with pytest.raises(MembershipError) as refused:
        membership_role_change(actor=users[OWNER], membership=membership(tenant, users[OWNER]), role=ADMIN)
    assert refused.value.code == "last_owner"
    second = member_of(tenant, role=OWNER)
    membership_role_change(actor=second, membership=membership(tenant, users[OWNER]), role=ADMIN)
    assert membership(tenant, users[OWNER]).role == ADMIN


def test_owner_removes_a_member_and_their_next_request_is_refused(team, client):
    tenant, users = team
    removed = users[MEMBER]
    client.force_login(removed)
    host = host_of(tenant)
    assert client.get("/", HTTP_HOST=host).status_code == 200
    membership_remove(actor=users[OWNER], membership=membership(tenant, removed))
    assert not Membership.objects.filter(tenant=tenant, user=removed).exists()
    [row] = audit_rows(tenant, AuditAction.MEMBER_REMOVED)
    assert row["actor_email"] == users[OWNER].email and row["target"] == removed.email
    assert events("member.removed", tenant)[0]["user_id"] == removed.pk
    assert client.get("/", HTTP_HOST=host).status_code == 403


@pytest.mark.parametrize(
    ("actor_role", "target_role", "code"),
    [(ADMIN, OWNER, "forbidden"), (MEMBER, ADMIN, "forbidden"), (ADMIN, ADMIN, "self")],
)
def test_removal_refused(team, actor_role, target_role, code):
    tenant, users = team
    with pytest.raises(MembershipError) as refused:
        membership_remove(actor=users[actor_role], membership=membership(tenant, users[target_role]))
    assert refused.value.code == code
    assert Membership.objects.filter(tenant=tenant, user=users[target_role]).exists()
    assert audit_rows(tenant, AuditAction.MEMBER_REMOVED) == []


def test_a_member_leaves_but_the_last_owner_cannot(team):
    tenant, users = team
    membership_leave(membership=membership(tenant, users[MEMBER]))
    assert not Membership.objects.filter(tenant=tenant, user=users[MEMBER]).exists()
    [row] = audit_rows(tenant, AuditAction.MEMBER_LEFT)
    assert row["actor_email"] == users[MEMBER].email
    assert len(events("member.left", tenant)) == 1
    with pytest.raises(MembershipError) as refused:
        membership_leave(membership=membership(tenant, users[OWNER]))
    assert refused.value.code == "last_owner"
    assert membership(tenant, users[OWNER]).role == OWNER
    assert len(audit_rows(tenant, AuditAction.MEMBER_LEFT)) == 1


def test_owner_transfers_ownership_and_becomes_admin(team):
    tenant, users = team
    tenant_ownership_transfer(actor=users[OWNER], membership=membership(tenant, users[MEMBER]))
    assert membership(tenant, users[MEMBER]).role == OWNER
    assert membership(tenant, users[OWNER]).role == ADMIN
    [row] = audit_rows(tenant, AuditAction.OWNERSHIP_TRANSFERRED)
    assert row["actor_email"] == users[OWNER].email and row["target"] == users[MEMBER].email
    assert sorted(p["role"] for p in events("member.role_changed", tenant)) == [ADMIN, OWNER]


@pytest.mark.parametrize(
    ("actor_role", "target_role", "code"), [(ADMIN, MEMBER, "forbidden"), (OWNER, OWNER, "self")]
)
def test_transfer_refused(team, actor_role, target_role, code):
    tenant, users = team
    with pytest.raises(MembershipError) as refused:
        tenant_ownership_transfer(actor=users[actor_role], membership=membership(tenant, users[target_role]))
    assert refused.value.code == code
    assert audit_rows(tenant, AuditAction.OWNERSHIP_TRANSFERRED) == []
    assert membership(tenant, users[OWNER]).role == OWNER


def test_rename_by_admin_allowed_by_member_refused(team):
    tenant, users = team
    renamed = tenant_rename(actor=users[ADMIN], tenant=tenant, name="  Acme Labs ")
    assert renamed.name == "Acme Labs"
    [row] = audit_rows(tenant, AuditAction.TENANT_RENAMED)
    assert row["data"] == {"name": "Acme Labs", "previous_name": tenant.name}
    with pytest.raises(MembershipError):
        tenant_rename(actor=users[MEMBER], tenant=tenant, name="Mine now")
    with pytest.raises(MembershipError):
        tenant_rename(actor=users[OWNER], tenant=tenant, name="   ")
    tenant.refresh_from_db()
    assert tenant.name == "Acme Labs"


def test_a_second_organization_for_an_existing_user(team):
    tenant, users = team
    user = users[MEMBER]
    created = organization_create(user=user, organization_name="Side Project")
    assert created.role == OWNER and created.user == user and created.tenant != tenant
    assert set(Membership.objects.filter(user=user).values_list("tenant_id", flat=True)) == {
        tenant.pk,
        created.tenant_id,
    }
    rows = audit_rows(created.tenant, AuditAction.MEMBER_ADDED)
    assert rows == [{"actor_email": user.email, "target": user.email, "data": {"role": OWNER}}]


def test_a_second_organization_refused_on_a_taken_subdomain(tenant, user):
    with pytest.raises(ValidationError) as refused:
        organization_create(user=user, organization_name="Copycat", subdomain=tenant.slug)
    assert "subdomain" in refused.value.message_dict
    assert not Membership.objects.filter(user=user).exists()


def test_new_organization_page_lands_on_it_with_its_message_once(public_client, tenant, member_of):
    user = member_of(tenant)
    public_client.force_login(user)
    response = public_client.post("/orgs/new/", {"organization_name": "Second Shop", "subdomain": ""})
    landing, answer = follow_handoff(response)
    assert answer.status_code == 302
    page = landing.get("/").content.decode()
    assert "Second Shop is ready" in page
    assert "Second Shop is ready" not in landing.get("/").content.decode()
    assert "Second Shop is ready" not in public_client.get("/orgs/").content.decode()


def test_removed_member_sees_refusal_on_members_page_request(team, client):
    tenant, users = team
    client.force_login(users[ADMIN])
    host = host_of(tenant)
    target = membership(tenant, users[MEMBER])
    response = client.post(f"/settings/members/{target.pk}/remove/", HTTP_HOST=host)
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()
    owner = membership(tenant, users[OWNER])
    client.post(f"/settings/members/{owner.pk}/remove/", HTTP_HOST=host)
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert (
        "Only an owner can change or remove another owner."
        in client.get("/members/", HTTP_HOST=host).content.decode()
    )
