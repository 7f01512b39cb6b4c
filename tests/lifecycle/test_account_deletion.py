"""A person deletes their own account from the profile: refused while an organization's only owner."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Membership, User
from accounts.services import tenant_rename
from activity.models import AuditAction, AuditEvent
from notifications.models import Notification
from projects.models import Project
from projects.services import project_create
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


def public_signed_in(user) -> Client:
    client = Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN)
    client.force_login(user)
    return client


def test_the_profile_links_to_it(user):
    assert 'href="/account/delete/"' in public_signed_in(user).get("/account/profile/").content.decode()


def test_anonymous_is_sent_to_log_in(db):
    response = Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN).get("/account/delete/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_refused_while_the_only_owner(tenant, make_tenant, member_of):
    owner = member_of(tenant, role="owner")
    shared = make_tenant(name="Shared")
    member_of(shared, user=owner, role="owner")
    member_of(shared, role="owner")
    client = public_signed_in(owner)
    response = client.post("/account/delete/", {"confirm": owner.email})
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        f"You are the only owner of {tenant.name}. Make someone else an owner, or delete the "
        "organization, before you delete your account."
    ]
    assert User.objects.filter(pk=owner.pk).exists()
    assert Membership.objects.filter(user=owner).count() == 2


def test_the_email_must_be_typed(user):
    response = public_signed_in(user).post("/account/delete/", {"confirm": "someone@else.test"})
    assert response.status_code == 400
    assert response.context["form"].errors["confirm"] == [f"Type {user.email} to confirm."]
    assert User.objects.filter(pk=user.pk).exists()


def test_deleting_ends_memberships_erases_the_actor_and_logs_out(tenant, member_of):
    owner = member_of(tenant, role="owner")
    leaving = member_of(tenant, role="admin")
    tenant_rename(actor=leaving, tenant=tenant, name="Renamed by the leaver")
    with schema_context(tenant.schema_name):
        project = project_create(tenant=tenant, actor=leaving, name="Theirs")
        Notification.objects.create(user_id=leaving.pk, kind="x", title="For them", event_id="e1")
    on_tenant = Client(HTTP_HOST=host_of(tenant))
    on_tenant.force_login(leaving)
    client = public_signed_in(leaving)

    response = client.post("/account/delete/", {"confirm": leaving.email.upper()})

    assert response.status_code == 302 and response["Location"] == "/"
    assert not User.objects.filter(pk=leaving.pk).exists()
    assert not Membership.objects.filter(user_id=leaving.pk).exists()
    assert "_auth_user_id" not in client.session
    assert client.get("/account/profile/").status_code == 302  # logged out here
    assert on_tenant.get("/").status_code == 302  # and their other session is worth nothing
    with schema_context(tenant.schema_name):
        assert not AuditEvent.objects.filter(actor_id=leaving.pk).exists()
        assert not AuditEvent.objects.filter(actor_email=leaving.email).exists()
        renamed = AuditEvent.objects.get(action=AuditAction.TENANT_RENAMED)
        assert (renamed.actor_erased, renamed.actor_name) == (True, "A deleted user")
        gone = AuditEvent.objects.get(action=AuditAction.MEMBER_ACCOUNT_DELETED)
        assert gone.changes == {"role": ["admin", None]}
        assert gone.sentence == "A member deleted their account and left the organization"
        assert not Notification.objects.filter(user_id=leaving.pk).exists()
        assert Project.objects.get(pk=project.pk).owner_id is None
    assert Membership.objects.filter(user=owner, tenant=tenant).exists()
