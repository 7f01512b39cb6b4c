"""Domain events -> live messages to open dashboards (after commit, through saas.broadcast)."""

from __future__ import annotations

from typing import Any

from accounts.models import Membership
from billing.selectors import billing_account_get
from realtime.messages import (
    MEMBERSHIP_CHANGED,
    MEMBERSHIP_ENDED,
    MEMBERSHIP_EVENTS,
    PLAN_CHANGED,
    SESSION_CLOSED,
)
from realtime.selectors import member_view, plan_view
from saas.broadcast import broadcast_on_commit, tenant_stream, user_stream
from saas.events import DomainEvent, Envelope
from saas.signals import PlanChanged, plan_changed
from tenants.models import Tenant


def membership_changed(event: Envelope[Any]) -> None:
    """Tell the tenant's dashboards; a person no longer a member loses their open sockets."""
    change = MEMBERSHIP_EVENTS[event.name]
    tenant_id, user_id = event.payload.tenant_id, event.payload.user_id
    membership = None
    if change not in MEMBERSHIP_ENDED:
        # Read now, not from the payload: a later change may already have committed.
        membership = (
            Membership.objects.select_related("user").filter(tenant_id=tenant_id, user_id=user_id).first()
        )
    schema = event.tenant_schema
    broadcast_on_commit(
        tenant_stream(schema),
        {
            "type": MEMBERSHIP_CHANGED,
            "change": change,
            "user_id": user_id,
            "member": member_view(membership) if membership else None,
        },
    )
    if change in MEMBERSHIP_ENDED:
        broadcast_on_commit(user_stream(schema, user_id), {"type": SESSION_CLOSED, "reason": change})


def connect_membership_events() -> None:
    """Receive each membership event saas/signals.py declares (see realtime.messages)."""
    for name in MEMBERSHIP_EVENTS:
        declared = DomainEvent.registry.get(name)
        if declared is not None:
            declared.connect(membership_changed, dispatch_uid=f"realtime.{name}")


@plan_changed.receiver("realtime.plan_changed")
def on_plan_changed(event: Envelope[PlanChanged]) -> None:
    tenant = Tenant.objects.filter(pk=event.payload.tenant_id).first()
    if tenant is None:
        return
    broadcast_on_commit(
        tenant_stream(event.tenant_schema),
        {"type": PLAN_CHANGED, "plan": plan_view(billing_account_get(tenant=tenant))},
    )
