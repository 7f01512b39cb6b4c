"""A real plan change notifies the tenant's owners and admins in the app, once."""

import pytest
from django_tenants.utils import schema_context

from notifications.models import Notification
from notifications.services import notification_create_for_admins
from tests.billing.conftest import stripe_event
from tests.conftest import host_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings", "eager_tasks")]


def notifications_of(tenant):
    with schema_context(tenant.schema_name):
        return list(Notification.objects.order_by("user_id").values_list("user_id", "kind", "title"))


def test_upgrade_notifies_owners_and_admins_once(
    tenant, owner, customer, member_of, stripe_fake, deliver, client
):
    admin = member_of(tenant, role="admin")
    member = member_of(tenant, role="member")
    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    payload = stripe_event("invoice.paid", stripe_fake.invoices[subscription["latest_invoice"]])
    deliver(payload)
    deliver(payload)  # Stripe repeats itself: no second notification

    expected = sorted(
        [
            (owner.pk, "billing.plan_changed", "Your plan is now Pro."),
            (admin.pk, "billing.plan_changed", "Your plan is now Pro."),
        ]
    )
    assert notifications_of(tenant) == expected
    assert member.pk not in [user_id for user_id, _, _ in notifications_of(tenant)]

    client.force_login(owner)
    page = client.get("/", HTTP_HOST=host_of(tenant)).content.decode()
    assert "Your plan is now Pro." in page
    assert '<span data-live="notifications-count">1</span> unread' in page
    client.force_login(member)
    assert "Your plan is now Pro." not in client.get("/", HTTP_HOST=host_of(tenant)).content.decode()


def test_the_same_event_notifies_each_person_once(tenant, owner):
    with schema_context(tenant.schema_name):
        made = [
            notification_create_for_admins(tenant_id=tenant.pk, event_id="evt-1", kind="k", title="t")
            for _ in range(3)
        ]
    assert made == [1, 0, 0]


def test_notifications_refuse_the_public_schema(tenant):
    with pytest.raises(RuntimeError):
        notification_create_for_admins(tenant_id=tenant.pk, event_id="evt-2", kind="k", title="t")
