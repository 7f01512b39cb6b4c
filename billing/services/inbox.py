"""The Stripe webhook inbox: store each event once, then apply it to its tenant."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from billing.models import WebhookEvent
from billing.selectors import billing_account_for_customer
from billing.services.subscriptions import subscription_apply
from saas.signals import StripeEventReceived, stripe_event_received

# Events that change a subscription's state; each names the subscription to re-read.
HANDLED_TYPES = {
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
}

_INSERT = f"""
    INSERT INTO {WebhookEvent._meta.db_table}
        (stripe_id, type, livemode, body, payload, stripe_created, customer_id, state, attempts,
         last_error, received_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, '', now())
    ON CONFLICT (stripe_id) DO NOTHING
    RETURNING id
"""


def _id_of(value: Any) -> str:
    """A Stripe reference is an id, or the object itself when expanded."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _object(payload: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("data")
    return data.get("object") or {} if isinstance(data, dict) else {}


@transaction.atomic
def webhook_event_receive(*, body: str, payload: dict[str, Any]) -> tuple[int, bool]:
    """Store a verified Stripe event unless already stored; returns (row id, created).

    One INSERT ... ON CONFLICT DO NOTHING: concurrent deliveries of the same event cannot
    both insert, and neither waits on the other's lock. The processing task is announced
    through the outbox in the same transaction, so a stored event is always processed.
    """
    created_at = payload.get("created")
    stripe_created = datetime.fromtimestamp(created_at, tz=UTC) if isinstance(created_at, int) else None
    obj = _object(payload)
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT,
            [
                payload["id"],
                str(payload.get("type") or ""),
                bool(payload.get("livemode")),
                body,
                json.dumps(payload),
                stripe_created,
                _id_of(obj.get("customer")),
                WebhookEvent.State.PENDING,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return WebhookEvent.objects.values_list("id", flat=True).get(stripe_id=payload["id"]), False
    stripe_event_received.publish(
        StripeEventReceived(webhook_event_id=row[0], stripe_event_id=payload["id"]), tenant_schema="public"
    )
    return row[0], True


def _subscription_id(event: WebhookEvent) -> str:
    obj = _object(event.payload)
    if event.type.startswith("customer.subscription."):
        return _id_of(obj.get("id"))
    if event.type.startswith("invoice."):
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        return _id_of(obj.get("subscription") or details.get("subscription"))
    return _id_of(obj.get("subscription"))  # checkout.session


@transaction.atomic
def webhook_event_process(*, webhook_event_id: int) -> WebhookEvent:
    """Apply one stored event to its tenant; running it again after success does nothing."""
    event = WebhookEvent.objects.select_for_update().get(id=webhook_event_id)
    if event.state in (WebhookEvent.State.PROCESSED, WebhookEvent.State.IGNORED):
        return event
    event.attempts += 1
    event.last_error = ""
    subscription_id = _subscription_id(event)
    if event.type not in HANDLED_TYPES or not subscription_id:
        # Acknowledged and kept for the record; nothing here changes a tenant (a one-off
        # invoice has no subscription).
        event.state = WebhookEvent.State.IGNORED
    else:
        account = billing_account_for_customer(customer_id=event.customer_id)
        if account is None:
            # Flagged for staff: a customer made outside this app, or a tenant since deleted.
            event.state = WebhookEvent.State.UNMATCHED
            event.last_error = f"No tenant has Stripe customer {event.customer_id or '(none)'}"
        else:
            subscription_apply(
                tenant=account.tenant, subscription_id=subscription_id, stripe_event_id=event.stripe_id
            )
            event.tenant = account.tenant
            event.state = WebhookEvent.State.PROCESSED
    event.processed_at = timezone.now()
    event.save(update_fields=["state", "attempts", "last_error", "tenant", "processed_at"])
    return event


def webhook_event_failure_record(*, webhook_event_id: int, error: BaseException) -> None:
    """Mark an event failed with its error (its processing transaction was rolled back)."""
    WebhookEvent.objects.filter(id=webhook_event_id).exclude(
        state__in=[WebhookEvent.State.PROCESSED, WebhookEvent.State.IGNORED]
    ).update(
        state=WebhookEvent.State.FAILED,
        attempts=F("attempts") + 1,
        last_error=f"{type(error).__name__}: {error}"[:4000],
    )


def webhook_event_replay(*, webhook_event_id: int) -> WebhookEvent:
    """Staff: process a failed or unmatched event again, now; its error is recorded if it fails."""
    try:
        return webhook_event_process(webhook_event_id=webhook_event_id)
    except Exception as error:
        webhook_event_failure_record(webhook_event_id=webhook_event_id, error=error)
        raise
