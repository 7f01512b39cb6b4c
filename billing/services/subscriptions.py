"""Applying a Stripe subscription to its tenant's billing account: plan, status, seats, once per change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from activity.models import AuditAction
from activity.services import audit_record
from billing.models import BillingAccount
from billing.plans import FREE, plan_for_price, plan_get
from billing.services.accounts import billing_account_lock
from billing.stripe_api import billing_enabled, stripe_client
from saas.signals import PlanChanged, plan_changed
from tenants.models import Tenant

PAYING_STATUSES = {"active", "trialing"}
ENDED_STATUSES = {"canceled", "incomplete_expired", "unpaid"}


class BillingDataError(ValueError):
    """Stripe sent something we cannot map (an unknown price): needs a person, not a retry."""


@dataclass(frozen=True)
class BillingState:
    plan: str
    status: str
    seats: int | None
    past_due_since: datetime | None
    stripe_subscription_id: str


FIELDS = ("plan", "status", "seats", "past_due_since", "stripe_subscription_id")


def _current(account: BillingAccount) -> BillingState:
    return BillingState(**{name: getattr(account, name) for name in FIELDS})


def _grace_over(since: datetime | None) -> bool:
    return since is not None and since <= timezone.now() - timedelta(days=settings.BILLING_GRACE_DAYS)


def _state_from(subscription: Any, *, current: BillingState) -> BillingState:
    """The billing state a subscription's current status means for its tenant."""
    status = subscription["status"]
    if status in ENDED_STATUSES:
        if current.stripe_subscription_id not in ("", subscription["id"]):
            return current  # an older subscription ended; the tenant has moved on to another
        return BillingState(FREE, BillingAccount.Status.CANCELED, None, None, "")
    if status not in PAYING_STATUSES and status != "past_due":
        return current  # incomplete: the first payment has not gone through yet
    item = subscription["items"]["data"][0]
    plan = plan_for_price(item["price"]["id"])
    if plan is None:
        raise BillingDataError(
            f"Subscription {subscription['id']} has price {item['price']['id']}, "
            "which no plan uses (check STRIPE_PRICE_* settings)"
        )
    quantity = int(item.get("quantity") or 1)
    seats = quantity if plan.seats is not None and quantity > plan.seats else None
    if status == "past_due":
        since = current.past_due_since or timezone.now()
        # Access is kept for the grace period, then the tenant falls back to Free (until paid).
        plan_code = FREE if _grace_over(since) else plan.code
        return BillingState(plan_code, BillingAccount.Status.PAST_DUE, seats, since, subscription["id"])
    return BillingState(plan.code, BillingAccount.Status.ACTIVE, seats, None, subscription["id"])


@transaction.atomic
def subscription_apply(*, tenant: Tenant, subscription_id: str, stripe_event_id: str = "") -> BillingAccount:
    """Set the tenant's plan, status and seats from the subscription's current state at Stripe."""
    account = billing_account_lock(tenant=tenant)
    # Stripe is read under the billing row's lock, not before it: events for one tenant then
    # apply one after another, each seeing Stripe's state after the previous one, so repeated,
    # concurrent and out-of-order deliveries all end in Stripe's latest state.
    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)
    new = _state_from(subscription, current=_current(account))
    return _billing_state_set(
        account=account, tenant=tenant, new=new, reason=f"stripe:{stripe_event_id or subscription_id}"
    )


@transaction.atomic
def past_due_downgrade() -> int:
    """Beat: move tenants past due beyond the grace period to Free; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.BILLING_GRACE_DAYS)
    overdue = (
        # Locked rows belong to a webhook applying right now; it decides, the next sweep retries.
        BillingAccount.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("tenant")
        .filter(status=BillingAccount.Status.PAST_DUE, past_due_since__lte=cutoff)
        .exclude(plan=FREE)
    )
    count = 0
    for account in overdue:
        current = _current(account)
        new = BillingState(FREE, current.status, None, current.past_due_since, current.stripe_subscription_id)
        _billing_state_set(account=account, tenant=account.tenant, new=new, reason="grace period over")
        count += 1
    return count


def subscription_cancel(*, tenant: Tenant) -> str:
    """End the tenant's Stripe subscription now; returns its id ('' when there is none).

    Safe to repeat (a retried deletion job): a subscription Stripe already ended is left as is.
    Runs outside any transaction: it is a call to Stripe, and nothing of ours changes here
    (the organization's deletion records it, and Stripe's webhook then finds no tenant).
    """
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is None or not account.stripe_subscription_id or not billing_enabled():
        return ""
    client = stripe_client()
    subscription_id = account.stripe_subscription_id
    if client.v1.subscriptions.retrieve(subscription_id).status != "canceled":
        client.v1.subscriptions.cancel(subscription_id)
    return subscription_id


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _billing_state_set(
    *, account: BillingAccount, tenant: Tenant, new: BillingState, reason: str
) -> BillingAccount:
    """Write the new state if it differs; audit and announce only a real change (lock held)."""
    old = _current(account)
    if new == old:
        return account
    changed = [name for name in FIELDS if getattr(old, name) != getattr(new, name)]
    for name in changed:
        setattr(account, name, getattr(new, name))
    account.save(update_fields=[*changed, "updated_at"])
    changes = {name: [_json(getattr(old, name)), _json(getattr(new, name))] for name in changed}
    if old.plan == new.plan and old.status == new.status:
        # Seats or ids only: audited, but nothing a person needs to be told.
        with schema_context(tenant.schema_name):
            audit_record(
                action=AuditAction.BILLING_SUBSCRIPTION_CHANGED,
                target=plan_get(new.plan).name,
                data={"reason": reason},
                changes=changes,
            )
        return account
    data = {
        "old_plan": old.plan,
        "new_plan": new.plan,
        "old_status": old.status,
        "new_status": new.status,
        "reason": reason,
    }
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.BILLING_PLAN_CHANGED,
            target=plan_get(new.plan).name,
            data=data,
            changes=changes,
        )
    plan_changed.publish(PlanChanged(tenant_id=tenant.pk, **data), tenant_schema=tenant.schema_name)
    return account
