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

invitation_created = Signal()
"""An admin invited an email address to an organization: payload invitation_id, tenant_id."""

invitation_resent = Signal()
"""An invitation got a new link and expiry and is to be emailed again: payload invitation_id, tenant_id."""

invitation_reminder_due = Signal()
"""A pending invitation expires within a day: payload invitation_id, tenant_id."""

invitation_declined = Signal()
"""The invitee declined: payload invitation_id, tenant_id."""

invitation_revoked = Signal()
"""An admin withdrew a pending invitation: payload invitation_id, tenant_id, user_id (the admin)."""

invitation_expired = Signal()
"""A pending invitation passed its expiry date: payload invitation_id, tenant_id."""

member_joined = Signal()
"""A person joined an organization by accepting an invitation.

Payload: user_id, tenant_id, role, invitation_id.
"""

stripe_event_received = Signal()
"""A verified Stripe webhook was stored in the inbox: payload webhook_event_id, stripe_event_id."""

plan_changed = Signal()
"""A tenant's plan or billing status really changed.

Payload: tenant_id, old_plan, new_plan, old_status, new_status.
"""

EVENTS: dict[str, Signal] = {
    "user.signed_up": user_signed_up,
    "invitation.created": invitation_created,
    "invitation.resent": invitation_resent,
    "invitation.reminder_due": invitation_reminder_due,
    "invitation.declined": invitation_declined,
    "invitation.revoked": invitation_revoked,
    "invitation.expired": invitation_expired,
    "member.joined": member_joined,
    "billing.stripe_event_received": stripe_event_received,
    "plan.changed": plan_changed,
}
