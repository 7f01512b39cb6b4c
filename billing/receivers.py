"""Reactions to domain events: enqueue billing's tasks (ids only, one delivery per key)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django_tenants.utils import schema_context

from accounts.models import Membership
from billing.plans import plan_change_news
from billing.tasks import plan_email_send, stripe_event_process
from saas.deliveries import delivery_enqueue
from saas.signals import plan_changed, stripe_event_received


@receiver(stripe_event_received, dispatch_uid="billing.stripe_event_received")
def on_stripe_event_received(*, event_id: str, payload: dict[str, Any], tenant_schema: str, **_: Any) -> None:
    # Keyed by Stripe's event id: however often Stripe or the outbox repeats it, one delivery.
    delivery_enqueue(
        stripe_event_process,
        key=f"stripe-event:{payload['stripe_event_id']}",
        tenant_schema="public",
        webhook_event_id=payload["webhook_event_id"],
    )


@receiver(plan_changed, dispatch_uid="billing.plan_changed_email")
def on_plan_changed(*, event_id: str, payload: dict[str, Any], tenant_schema: str, **_: Any) -> None:
    template = plan_change_news(payload)
    if template is None:
        return
    with schema_context("public"):
        owners = list(
            Membership.objects.filter(tenant_id=payload["tenant_id"], role=Membership.Role.OWNER).values_list(
                "user_id", flat=True
            )
        )
    for user_id in owners:
        delivery_enqueue(
            plan_email_send,
            key=f"{event_id}:billing.{template}:{user_id}",
            tenant_schema=tenant_schema,
            tenant_id=payload["tenant_id"],
            user_id=user_id,
            template=template,
            new_plan=payload["new_plan"],
            old_plan=payload["old_plan"],
        )
