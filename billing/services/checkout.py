"""Stripe-hosted pages: the tenant's customer, Checkout (subscribe) and the customer portal."""

from __future__ import annotations

from typing import Any

import stripe
import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import schema_context
from djstripe.models import Customer as DjstripeCustomer
from stripe.params import CustomerCreateParams

from accounts.models import Membership, User
from activity.models import AuditAction
from activity.services import audit_record
from billing.models import BillingAccount
from billing.plans import Plan
from billing.selectors import billing_account_get
from billing.services.accounts import billing_account_lock
from billing.stripe_api import stripe_client
from tenants.models import Tenant

logger = structlog.get_logger(__name__)


def _billing_email(*, tenant: Tenant) -> str:
    """Where Stripe sends receipts at first: the earliest owner's address (editable in the portal)."""
    owner = (
        Membership.objects.filter(tenant=tenant, role=Membership.Role.OWNER)
        .order_by("created_at")
        .values_list("user__email", flat=True)
        .first()
    )
    return owner or ""


@transaction.atomic
def customer_ensure(*, tenant: Tenant) -> str:
    """The tenant's Stripe customer id, creating the customer on first use (once, even if raced).

    The billing row is locked so two admins clicking Upgrade at once do not both create a
    customer; the idempotency key makes a retried create (timeout after Stripe acted)
    return the same customer instead of a second one.
    """
    account = billing_account_lock(tenant=tenant)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    params: CustomerCreateParams = {
        "name": tenant.name,
        "metadata": {"tenant_id": str(tenant.pk), "tenant_slug": tenant.slug},
    }
    email = _billing_email(tenant=tenant)
    if email:  # the client leaves out a None value, so no email means none sent
        params["email"] = email
    customer = stripe_client().v1.customers.create(
        params=params,
        options={"idempotency_key": f"tenant-{tenant.pk}-customer"},
    )
    account.stripe_customer_id = customer.id
    account.save(update_fields=["stripe_customer_id", "updated_at"])
    _djstripe_customer_sync(tenant=tenant, customer=customer)
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.BILLING_CUSTOMER_CREATED,
            target=customer.id,
            changes={"stripe_customer_id": [None, customer.id]},
        )
    return customer.id


def checkout_session_create(
    *, tenant: Tenant, plan: Plan, actor: User, success_url: str, cancel_url: str
) -> str:
    """A Stripe Checkout session (subscription mode) for `plan`; returns the page to send the admin to."""
    if not plan.is_paid or not plan.price_id:
        raise ValidationError({"plan": f"The {plan.name} plan cannot be bought here."})
    account = billing_account_get(tenant=tenant)
    if account.plan == plan.code and account.status == BillingAccount.Status.ACTIVE:
        raise ValidationError({"plan": f"You are already on the {plan.name} plan."})
    customer_id = customer_ensure(tenant=tenant)
    session = stripe_client().v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(tenant.pk),
            "line_items": [{"price": plan.price_id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": {"tenant_id": str(tenant.pk), "plan": plan.code, "actor_id": str(actor.pk)},
        }
    )
    return str(session.url)


def portal_session_create(*, tenant: Tenant, return_url: str) -> str:
    """A Stripe customer-portal session (invoices, payment method, cancel); returns its URL."""
    customer_id = customer_ensure(tenant=tenant)
    session = stripe_client().v1.billing_portal.sessions.create(
        params={"customer": customer_id, "return_url": return_url}
    )
    return str(session.url)


def _djstripe_customer_sync(*, tenant: Tenant, customer: Any) -> None:
    """Mirror the customer into dj-stripe's tables with the tenant as its subscriber.

    Billing decisions never read this copy (they read Stripe itself), so a failure here is
    logged for staff rather than refusing the admin their checkout. The subscriber is linked
    here, not by dj-stripe from the customer's metadata: DJSTRIPE_SUBSCRIBER_CUSTOMER_KEY is
    off because dj-stripe's own linking insists on an `email` attribute on the subscriber
    model, and the Tenant has none (the billing address lives at Stripe).
    """
    # dj-stripe calls Stripe through stripe-python's global base (set at start-up, see apps.py);
    # keep it on the configured one in case the settings changed since.
    stripe.api_base = settings.STRIPE_API_BASE
    try:
        with transaction.atomic():
            record = DjstripeCustomer.sync_from_stripe_data(
                customer.to_dict(), api_key=settings.STRIPE_SECRET_KEY
            )
            if record.subscriber_id != tenant.pk:
                record.subscriber = tenant
                record.save(update_fields=["subscriber"])
    except Exception as error:
        logger.warning("dj-stripe customer mirror failed", customer_id=customer.id, error=repr(error))
