"""Reactions to domain events: enqueue billing's tasks (ids only, one delivery per key)."""

from __future__ import annotations

from django_tenants.utils import schema_context

from accounts.models import Membership
from billing.plans import plan_change_news
from billing.tasks import plan_email_send, stripe_event_process
from saas.deliveries import delivery_enqueue
from saas.events import Envelope
from saas.signals import PlanChanged, StripeEventReceived, plan_changed, stripe_event_received


@stripe_event_received.receiver("billing.stripe_event_received")
def on_stripe_event_received(event: Envelope[StripeEventReceived]) -> None:
    # Keyed by Stripe's event id: however often Stripe or the outbox repeats it, one delivery.
    delivery_enqueue(
        stripe_event_process,
        key=f"stripe-event:{event.payload.stripe_event_id}",
        tenant_schema="public",
        webhook_event_id=event.payload.webhook_event_id,
    )


@plan_changed.receiver("billing.plan_changed_email")
def on_plan_changed(event: Envelope[PlanChanged]) -> None:
    change = event.payload
    template = plan_change_news(change)
    if template is None:
        return
    with schema_context("public"):
        owners = list(
            Membership.objects.filter(tenant_id=change.tenant_id, role=Membership.Role.OWNER).values_list(
                "user_id", flat=True
            )
        )
    for user_id in owners:
        delivery_enqueue(
            plan_email_send,
            key=event.key(f"billing.{template}:{user_id}"),
            tenant_schema=event.tenant_schema,
            tenant_id=change.tenant_id,
            user_id=user_id,
            template=template,
            new_plan=change.new_plan,
            old_plan=change.old_plan,
        )
