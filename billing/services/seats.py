"""Seat limits: how many members and pending invitations a plan allows."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from billing.seats import seats_used
from billing.selectors import billing_account_get
from tenants.models import Tenant


def seat_check(*, tenant: Tenant, adding: int = 1) -> None:
    """Refuse, naming the plan, when `adding` more seats would exceed the tenant's limit.

    Call it inside the transaction that adds the seat, after locking the tenant row
    (`Tenant.objects.select_for_update()`), so two concurrent invitations cannot both take
    the last seat. Seats taken are members plus every registered counter (`billing.seats`).
    """
    account = billing_account_get(tenant=tenant)
    limit = account.seat_limit
    if limit is None:
        return
    if seats_used(tenant=tenant) + adding > limit:
        raise ValidationError(
            f"The {account.current_plan.name} plan includes {limit} seats; upgrade to invite more.",
            code="seat_limit",
        )
