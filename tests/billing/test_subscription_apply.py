"""Applying events: once per real change, whatever the repetition or the order."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from activity.models import AuditEvent
from billing.models import BillingAccount, WebhookEvent
from billing.selectors import billing_account_get
from billing.services import customer_ensure, past_due_downgrade, subscription_apply
from saas.models import OutboxEvent
from tests.billing.conftest import stripe_event
from tests.conftest import host_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings", "eager_tasks")]


def plan_audits(tenant):
    with schema_context(tenant.schema_name):
        return list(AuditEvent.objects.filter(action="billing.plan_changed").values_list("data", flat=True))


def test_payment_succeeded_delivered_twice_upgrades_once(tenant, owner, customer, stripe_fake, deliver):
    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    invoice = stripe_fake.invoices[subscription["latest_invoice"]]
    payload = stripe_event("invoice.paid", invoice)
    deliver(payload)
    deliver(payload)
    account = billing_account_get(tenant=tenant)
    assert (account.plan, account.status, account.stripe_subscription_id) == (
        "pro",
        "active",
        subscription["id"],
    )
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED
    assert [m.subject for m in mail.outbox] == ["Your Foundry plan is now Pro"]
    assert mail.outbox[0].to == [owner.email]
    assert len(plan_audits(tenant)) == 1
    assert OutboxEvent.objects.filter(name="plan.changed").count() == 1


def test_every_event_of_one_checkout_changes_the_plan_once(
    tenant, owner, customer, stripe_fake, settings, deliver
):
    settings.STRIPE_PRICE_BUSINESS = "price_business"
    session = stripe_fake._checkout_create(
        {
            "mode": "subscription",
            "customer": customer,
            "line_items": [{"price": "price_business", "quantity": "12"}],
        }
    )
    subscription = stripe_fake.checkout_complete(session["id"])
    invoice = stripe_fake.invoices[subscription["latest_invoice"]]
    for event_type, obj in [
        ("checkout.session.completed", stripe_fake.checkout_sessions[session["id"]]),
        ("customer.subscription.created", subscription),
        ("invoice.paid", invoice),
        ("customer.subscription.updated", subscription),
    ]:
        deliver(stripe_event(event_type, obj))
    account = billing_account_get(tenant=tenant)
    assert (account.plan, account.status) == ("business", "active")
    assert account.seats is None  # 12 is within Business's 50 seats
    assert len(mail.outbox) == 1
    assert len(plan_audits(tenant)) == 1
    assert WebhookEvent.objects.filter(state="processed").count() == 4


def test_out_of_order_canceled_update_before_created_ends_on_the_right_plan(
    tenant, owner, customer, stripe_fake, deliver
):
    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    created = stripe_event("customer.subscription.created", subscription)  # snapshot: active
    stripe_fake.subscription_set(subscription["id"], status="canceled")
    updated = stripe_event("customer.subscription.updated", stripe_fake.subscriptions[subscription["id"]])
    deliver(updated)  # arrives first
    deliver(created)  # late, with a stale "active" snapshot
    account = billing_account_get(tenant=tenant)
    assert account.plan == "free"
    assert account.stripe_subscription_id == ""
    assert not [m for m in mail.outbox if "Pro" in m.subject]  # never announced a Pro that was not


def test_in_order_created_then_deleted_upgrades_then_downgrades(
    tenant, owner, customer, stripe_fake, deliver
):
    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    deliver(stripe_event("customer.subscription.created", subscription))
    account = billing_account_get(tenant=tenant)
    assert account.plan == "pro"
    deliver(
        stripe_event(
            "customer.subscription.deleted",
            stripe_fake.subscription_set(subscription["id"], status="canceled"),
        )
    )
    account = billing_account_get(tenant=tenant)
    assert (account.plan, account.status) == ("free", "canceled")
    assert [m.subject for m in mail.outbox] == [
        "Your Foundry plan is now Pro",
        "Your Foundry plan is now Free",
    ]
    assert [a["new_plan"] for a in plan_audits(tenant)] == ["free", "pro"]  # newest first


def test_an_older_subscription_ending_does_not_downgrade_a_newer_one(
    tenant, owner, customer, stripe_fake, deliver
):
    old = stripe_fake.subscription_create(customer=customer, price="price_pro")
    new = stripe_fake.subscription_create(customer=customer, price="price_business")
    deliver(stripe_event("customer.subscription.created", new))
    deliver(
        stripe_event(
            "customer.subscription.deleted", stripe_fake.subscription_set(old["id"], status="canceled")
        )
    )
    account = billing_account_get(tenant=tenant)
    assert (account.plan, account.stripe_subscription_id) == ("business", new["id"])


def test_payment_failed_keeps_access_for_the_grace_period_then_downgrades(
    tenant, owner, customer, stripe_fake, deliver, settings
):
    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    deliver(stripe_event("customer.subscription.created", subscription))
    stripe_fake.subscription_set(subscription["id"], status="past_due")
    failed_invoice = stripe_fake.invoice_create(subscription=subscription, paid=False)
    deliver(stripe_event("invoice.payment_failed", failed_invoice))
    account = billing_account_get(tenant=tenant)
    assert (account.plan, account.status) == ("pro", "past_due")  # access kept
    assert account.past_due_since is not None
    assert mail.outbox[-1].subject == f"Payment failed for {tenant.name} on Foundry"
    assert mail.outbox[-1].to == [owner.email]

    from django.test import Client

    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(owner)
    assert "could not collect the last payment" in client.get("/").content.decode()

    assert past_due_downgrade() == 0  # still within BILLING_GRACE_DAYS
    BillingAccount.objects.filter(tenant=tenant).update(
        past_due_since=timezone.now() - timedelta(days=settings.BILLING_GRACE_DAYS, minutes=1)
    )
    assert past_due_downgrade() == 1
    account = billing_account_get(tenant=tenant)
    assert (account.plan, account.status) == ("free", "past_due")
    # A late retry of the failure does not bring Pro back while the payment is still missing.
    deliver(stripe_event("invoice.payment_failed", failed_invoice))
    account = billing_account_get(tenant=tenant)
    assert account.plan == "free"

    stripe_fake.subscription_set(subscription["id"], status="active")
    deliver(stripe_event("invoice.paid", stripe_fake.invoice_create(subscription=subscription, paid=True)))
    account = billing_account_get(tenant=tenant)
    assert (account.plan, account.status, account.past_due_since) == ("pro", "active", None)


def test_a_price_no_plan_uses_fails_the_event_with_a_readable_error(
    tenant, owner, customer, stripe_fake, deliver, settings
):
    settings.STRIPE_PRICE_BUSINESS = "price_something_else"
    subscription = stripe_fake.subscription_create(customer=customer, price="price_business")
    deliver(stripe_event("customer.subscription.created", subscription))
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.FAILED
    assert "price_business" in event.last_error and "STRIPE_PRICE_" in event.last_error
    account = billing_account_get(tenant=tenant)
    assert account.plan == "free"


def test_nothing_is_announced_when_the_transaction_rolls_back(
    tenant, owner, customer, stripe_fake, django_capture_on_commit_callbacks
):
    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        subscription_apply(tenant=tenant, subscription_id=subscription["id"])
        raise RuntimeError("the caller failed after applying")
    assert callbacks == []
    account = billing_account_get(tenant=tenant)
    assert account.plan == "free"
    assert not OutboxEvent.objects.filter(name="plan.changed").exists()
    assert plan_audits(tenant) == []
    assert mail.outbox == []


def test_customer_is_created_once(tenant, owner, stripe_fake):
    first = customer_ensure(tenant=tenant)
    assert customer_ensure(tenant=tenant) == first
    assert len(stripe_fake.customers) == 1
    assert stripe_fake.customers[first]["metadata"]["tenant_id"] == str(tenant.pk)
    assert stripe_fake.customers[first]["email"] == owner.email
    assert billing_account_get(tenant=tenant).stripe_customer_id == first


def test_the_customers_email_is_the_earliest_owners(tenant, member_of, stripe_fake):
    member_of(tenant, role="admin")
    first_owner = member_of(tenant, role="owner")
    member_of(tenant, role="owner")
    customer_id = customer_ensure(tenant=tenant)
    assert stripe_fake.customers[customer_id]["email"] == first_owner.email


def test_the_tenant_is_dj_stripes_subscriber(tenant, owner, stripe_fake):
    from djstripe.models import Customer

    customer_id = customer_ensure(tenant=tenant)
    mirrored = Customer.objects.get(id=customer_id)
    assert mirrored.subscriber == tenant
    assert mirrored.email == owner.email
