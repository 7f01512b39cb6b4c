"""What an open dashboard shows, read from the database (the source of truth)."""

from __future__ import annotations

from typing import Any

from accounts.models import Membership, User
from accounts.selectors import membership_list_for_tenant
from billing.models import BillingAccount
from billing.selectors import billing_account_get
from notifications.selectors import notification_recent, notification_view
from saas.schemas import current_schema
from tenants.models import Tenant

# How many notifications the dashboard lists (dashboard.views passes the same to its page).
RECENT_NOTIFICATIONS = 5


def member_view(membership: Membership) -> dict[str, Any]:
    """One member as the socket shows it (the same shape in snapshots and messages)."""
    user = membership.user
    return {
        "user_id": user.pk,
        "name": user.get_full_name(),
        "email": user.email,
        "role": membership.role,
        "role_label": membership.get_role_display(),
    }


def plan_view(account: BillingAccount) -> dict[str, Any]:
    plan = account.current_plan
    return {"code": plan.code, "name": plan.name, "status": account.status, "seat_limit": account.seat_limit}


def _in(tenant: Tenant) -> None:
    if current_schema() != tenant.schema_name:
        raise RuntimeError(f"a snapshot of {tenant.schema_name} read in {current_schema()}")


def tenant_view(*, tenant: Tenant) -> dict[str, Any]:
    """What every member's snapshot shares: members and the plan (two queries)."""
    _in(tenant)
    members = [member_view(m) for m in membership_list_for_tenant(tenant=tenant)]
    return {
        "members": members,
        "member_count": len(members),
        "plan": plan_view(billing_account_get(tenant=tenant)),
    }


def member_part(*, tenant: Tenant, user: User) -> dict[str, Any]:
    """What is this member's own in a snapshot: the unread count and the newest notifications
    (as many as the dashboard lists), one query."""
    _in(tenant)
    recent = list(notification_recent(user=user, limit=RECENT_NOTIFICATIONS))
    return {
        "notifications_unread": recent[0].unread_total if recent else 0,  # type: ignore[attr-defined]
        "notifications": [notification_view(note) for note in recent],
    }


def dashboard_snapshot(*, tenant: Tenant, user: User) -> dict[str, Any]:
    """Members, this person's unread count and the plan: three queries, in the tenant's schema."""
    return {**tenant_view(tenant=tenant), **member_part(tenant=tenant, user=user)}
