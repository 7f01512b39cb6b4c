"""Reads for billing: what a tenant's plan allows and how much of it is used."""

from __future__ import annotations

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
