"""Writes for billing. Each service owns its transaction."""

from billing.services.checkout import checkout_session_create, customer_ensure, portal_session_create
from billing.services.inbox import (
    webhook_event_failure_record,
    webhook_event_process,
    webhook_event_receive,
    webhook_event_replay,
)
from billing.services.seats import seat_check
from billing.services.subscriptions import past_due_downgrade, subscription_apply, subscription_cancel

__all__ = [
    "checkout_session_create",
    "customer_ensure",
    "past_due_downgrade",
    "portal_session_create",
    "seat_check",
    "subscription_apply",
    "subscription_cancel",
    "webhook_event_failure_record",
    "webhook_event_process",
    "webhook_event_receive",
    "webhook_event_replay",
]
