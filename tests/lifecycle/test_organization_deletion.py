"""Deleting an organization: owners schedule it (typing the subdomain), any owner cancels it in
the grace period, and the job then cancels Stripe, drops the schema and keeps a record in public."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from accounts.models import Membership
from activity.models import AuditAction, AuditEvent
from api.models import ApiKey
from api.services import api_key_create
from billing.models import BillingAccount
from billing.services import customer_ensure, subscription_apply
from invitations.models import Invitation
from invitations.services import invitation_create
from lifecycle.errors import LifecycleError
from lifecycle.models import OrganizationDeletion
from lifecycle.services import tenant_delete, tenant_deletion_cancel, tenant_deletion_schedule
from lifecycle.tasks import tenant_deletions_run
from tenants.models import Domain, Tenant
from tests.billing.conftest import stripe_settings  # noqa: F401  (a fixture used below)
from tests.conftest import host_of, on_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(tenant, member_of):
    return {role: member_of(tenant, role=role) for role in ("owner", "admin", "member")}


def signed_in(tenant, user) -> Client:
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(user)
    return client


def test_only_owners_reach_the_page(tenant, people):
    assert signed_in(tenant, people["admin"]).get("/settings/delete/").status_code == 403
    assert (
        signed_in(tenant, people["member"]).post("/settings/delete/", {"confirm": tenant.slug}).status_code
        == 403
    )
    assert not OrganizationDeletion.objects.exists()


def test_the_subdomain_must_be_typed(tenant, people):
    response = signed_in(tenant, people["owner"]).post("/settings/delete/", {"confirm": "not-it"})
    assert response.status_code == 400
    assert response.context["form"].errors["confirm"] == [
        f"Type the organization's subdomain, {tenant.slug}, to confirm."
    ]
    empty = signed_in(tenant, people["owner"]).post("/settings/delete/", {})
    assert empty.status_code == 400 and empty.context["form"].errors["confirm"]
    assert not OrganizationDeletion.objects.exists()


def test_schedule_shows_a_banner_and_an_owner_cancels(tenant, people, settings, member_of):
    settings.TENANT_DELETION_GRACE_DAYS = 7
    owner = signed_in(tenant, people["owner"])
    response = owner.post("/settings/delete/", {"confirm": tenant.slug.upper()}, follow=True)
    assert response.status_code == 200
    deletion = OrganizationDeletion.objects.get()
    assert deletion.state == "scheduled" and deletion.requested_by_email == people["owner"].email
    assert timedelta(days=6, hours=23) < deletion.due_at - timezone.now() <= timedelta(days=7)
    for user in (people["member"], people["owner"]):
        page = signed_in(tenant, user).get("/").content.decode()
        assert "is scheduled to be deleted on" in page
    assert "Cancel the deletion" not in signed_in(tenant, people["member"]).get("/").content.decode()
    again = owner.post("/settings/delete/", {"confirm": tenant.slug})
    assert "already scheduled" in again.content.decode()
    assert OrganizationDeletion.objects.count() == 1

    second_owner = member_of(tenant, role="owner")
    signed_in(tenant, second_owner).post("/settings/delete/cancel/")
    deletion.refresh_from_db()
    assert (deletion.state, deletion.canceled_by_email) == ("canceled", second_owner.email)
    assert "scheduled to be deleted" not in owner.get("/").content.decode()
    with schema_context(tenant.schema_name):
        actions = list(
            AuditEvent.objects.filter(action__startswith="tenant.deletion").values_list("action", flat=True)
        )
    assert sorted(actions) == [AuditAction.TENANT_DELETION_CANCELED, AuditAction.TENANT_DELETION_SCHEDULED]
    # Canceled: the job has nothing to do even once the date has passed.
    OrganizationDeletion.objects.filter(pk=deletion.pk).update(due_at=timezone.now() - timedelta(days=1))
    assert tenant_delete(deletion_id=deletion.pk) is None
    assert schema_exists(tenant.schema_name)


def test_cancel_with_nothing_scheduled_says_so(tenant, people):
    with pytest.raises(LifecycleError, match="No deletion is scheduled"):
        tenant_deletion_cancel(tenant=tenant, actor=people["owner"])


def test_not_due_yet_nothing_happens(tenant, people, settings):
    settings.TENANT_DELETION_GRACE_DAYS = 7
    deletion = tenant_deletion_schedule(tenant=tenant, actor=people["owner"], confirm=tenant.slug)
    assert tenant_deletions_run() == 0
    assert tenant_delete(deletion_id=deletion.pk) is None
    assert schema_exists(tenant.schema_name)


def test_the_job_cancels_stripe_drops_the_schema_and_keeps_a_record(
    stripe_settings,  # noqa: F811
    stripe_fake,
    tenant,
    people,
    settings,
):
    on_plan(tenant, "free")
    subscription = stripe_fake.subscription_create(customer=customer_ensure(tenant=tenant), price="price_pro")
    subscription_apply(tenant=tenant, subscription_id=subscription["id"])
    invitation_create(tenant=tenant, inviter=people["owner"], email="later@example.test", role="member")
    api_key_create(tenant=tenant, actor=people["owner"], name="CI", scopes=["projects:read"])
    settings.TENANT_DELETION_GRACE_DAYS = 0
    deletion = tenant_deletion_schedule(tenant=tenant, actor=people["owner"], confirm=tenant.slug)
    host, schema = host_of(tenant), tenant.schema_name

    done = tenant_delete(deletion_id=deletion.pk)

    assert done is not None and done.state == "deleted" and done.deleted_at is not None
    assert stripe_fake.subscriptions[subscription["id"]]["status"] == "canceled"
    assert ("DELETE", f"/v1/subscriptions/{subscription['id']}") in stripe_fake.requests
    assert not schema_exists(schema)
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    for model in (Domain, Membership, Invitation, ApiKey, BillingAccount):
        assert not model.objects.filter(tenant_id=tenant.pk).exists(), model
    record = OrganizationDeletion.objects.get(pk=deletion.pk)
    assert (record.slug, record.name, record.requested_by_email, record.tenant_id) == (
        tenant.slug,
        tenant.name,
        people["owner"].email,
        None,
    )
    assert record.summary == {
        "members": 3,
        "invitations": 1,
        "domains": [host],
        "api_keys": 1,
        "audit_rows": record.summary["audit_rows"],
        "stripe_subscription_canceled": subscription["id"],
    }
    assert record.summary["audit_rows"] >= 7
    # The host is gone: an unknown host's page, never another schema's data.
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    assert Client(HTTP_HOST=host).get("/").status_code == 404
    # Run again (a redelivered job): nothing left to do, nothing fails.
    assert tenant_delete(deletion_id=deletion.pk) is None
    # The subdomain is free again.
    assert not Tenant.objects.filter(slug=tenant.slug).exists()


def test_the_beat_sweep_starts_due_deletions_only(tenant, make_tenant, people, settings, member_of):
    from celery import current_app

    later = make_tenant()
    later_owner = member_of(later, role="owner")
    settings.TENANT_DELETION_GRACE_DAYS = 0
    due = tenant_deletion_schedule(tenant=tenant, actor=people["owner"], confirm=tenant.slug)
    settings.TENANT_DELETION_GRACE_DAYS = 3
    tenant_deletion_schedule(tenant=later, actor=later_owner, confirm=later.slug)
    current_app.conf.task_always_eager = True
    try:
        assert tenant_deletions_run() == 1
    finally:
        current_app.conf.task_always_eager = False
    assert OrganizationDeletion.objects.get(pk=due.pk).state == "deleted"
    assert not schema_exists(tenant.schema_name) and schema_exists(later.schema_name)
