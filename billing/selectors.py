"""Reads for billing: a tenant's billing state, what its plan allows and how much is used."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.models import BillingAccount
from billing.stripe_api import stripe_client
from tenants.models import Tenant


def billing_account_get(*, tenant: Tenant) -> BillingAccount:
    """The tenant's plan, status and seats, read afresh: one query (the row is made on first use).

    Pages call this rather than reading the Tenant: the host -> tenant cache may hold a Tenant
    from before a webhook changed the plan, and the plan is not on it. A tenant provisioned
    since the data migration gets its row here, race-safely: two first reads at once both try
    the insert, the unique tenant column lets one win and the other reads the winner's row.
    """
    account, _ = BillingAccount.objects.get_or_create(tenant=tenant)
    return account


def billing_account_for_customer(*, customer_id: str) -> BillingAccount | None:
    """The billing account (with its tenant) that has this Stripe customer, or None."""
    if not customer_id:
        return None
    return BillingAccount.objects.select_related("tenant").filter(stripe_customer_id=customer_id).first()


def invoices_recent(*, account: BillingAccount, limit: int = 10) -> list[dict]:
    """The account's latest invoices, read from Stripe (the source of truth for money)."""
    if not account.stripe_customer_id:
        return []
    invoices = stripe_client().v1.invoices.list(
        params={"customer": account.stripe_customer_id, "limit": limit}
    )
    return [
        {
            "number": invoice.get("number") or invoice["id"],
            "created": datetime.fromtimestamp(invoice["created"], tz=UTC),
            "amount": (invoice.get("amount_paid") or invoice.get("amount_due") or 0) / 100,
            "currency": (invoice.get("currency") or "usd").upper(),
            "status": invoice.get("status") or "",
            "url": invoice.get("hosted_invoice_url") or "",
        }
        for invoice in (item.to_dict(recursive=False) for item in invoices.data)
    ]
