"""Seat limits: how many members and pending invitations a plan allows."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from billing.selectors import seats_used, tenant_plan, tenant_seat_limit
from tenants.models import Tenant


def seat_check(*, tenant: Tenant, adding: int = 1) -> None:
    """Refuse, naming the plan, when `adding` more seats would exceed the tenant's limit.

    Call it inside the transaction that adds the seat, after locking the tenant row
    (`Tenant.objects.select_for_update()`), so two concurrent invitations cannot both take
    the last seat.
    """
    limit = tenant_seat_limit(tenant=tenant)
    if limit is None:
        return
    if seats_used(tenant=tenant) + adding > limit:
        plan = tenant_plan(tenant=tenant)
        raise ValidationError(
            f"The {plan.name} plan includes {limit} seats; upgrade to invite more.",
            code="seat_limit",
        )
