"""Every domain event of the product, declared in one place.

An event is published with `saas.events.publish(name, payload)` inside the transaction that
caused it; after commit the outbox relay sends the signal below. Receivers (in each app's
`receivers.py`) only enqueue tasks or call services, and must be idempotent: the same event
(same `event_id`) can be dispatched more than once. Every receiver is called with
`event_id: str`, `payload: dict` and `tenant_schema: str`.
"""

from django.dispatch import Signal

user_signed_up = Signal()
"""A person created an account and an organization: payload user_id, tenant_id."""

EVENTS: dict[str, Signal] = {
    "user.signed_up": user_signed_up,
}
