"""Reads for billing: what a tenant's plan allows and how much of it is used."""

from __future__ import annotations

from datetime import UTC, datetime

from django.apps import apps

from billing.plans import Plan, plan_get
from tenants.models import Tenant


def tenant_plan(*, tenant: Tenant) -> Plan:
    """The plan the tenant is on now (a past-due tenant keeps its plan until the grace ends)."""
    return plan_get(tenant.plan)


def tenant_seat_limit(*, tenant: Tenant) -> int | None:
    """Seats the tenant may fill (members plus pending invitations); None means no limit."""
    plan = tenant_plan(tenant=tenant)
    if plan.seats is None:
        return None
    return max(plan.seats, tenant.seats or 0)


def seats_used(*, tenant: Tenant) -> int:
    """Members plus pending invitations (when the invitations app is installed)."""
    from accounts.models import Membership

    used = Membership.objects.filter(tenant=tenant).count()
    if apps.is_installed("invitations"):
        used += _pending_invitations(tenant=tenant)
    return used


def _pending_invitations(*, tenant: Tenant) -> int:
    # Imported lazily: billing must not depend on invitations being installed.
    try:
        from invitations.selectors import invitation_pending_count  # type: ignore[import-not-found]
    except ImportError:
        invitation_model = apps.get_model("invitations", "Invitation")
        return invitation_model.objects.filter(tenant=tenant, state="pending").count()
    return invitation_pending_count(tenant=tenant)


def invoices_recent(*, tenant: Tenant, limit: int = 10) -> list[dict]:
    """The tenant's latest invoices, read from Stripe (the source of truth for money)."""
    from billing.stripe_api import stripe_client

    if not tenant.stripe_customer_id:
        return []
    invoices = stripe_client().v1.invoices.list(
        params={"customer": tenant.stripe_customer_id, "limit": limit}
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
