"""Every domain event of the product, declared once, each with its typed payload.

Publish inside the transaction that caused the change, receive in `<app>/receivers.py`:

    user_signed_up.publish(UserSignedUp(user_id=user.pk, tenant_id=tenant.pk), tenant_schema=...)

    @user_signed_up.receiver("accounts.welcome_email")
    def on_signed_up(event: Envelope[UserSignedUp]) -> None:
        delivery_enqueue(..., key=event.key("welcome_email"), user_id=event.payload.user_id)

Receivers only enqueue tasks or call services, and must be idempotent: the same event (same
`event.id`) can be dispatched more than once (see saas/events.py). Payload fields are JSON
values (ids, codes), never model instances: the row is stored before receivers run.
"""

from __future__ import annotations

from dataclasses import dataclass

from saas.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class UserSignedUp:
    user_id: int
    tenant_id: int


@dataclass(frozen=True, kw_only=True)
class InvitationChanged:
    invitation_id: int
    tenant_id: int


@dataclass(frozen=True, kw_only=True)
class MemberJoined:
    user_id: int
    tenant_id: int
    role: str
    invitation_id: int


@dataclass(frozen=True, kw_only=True)
class MembershipChanged:
    """A membership's role changed or it ended; `role` is "" once the person is no longer a member."""

    tenant_id: int
    user_id: int
    role: str
    previous_role: str
    actor_id: int | None


@dataclass(frozen=True, kw_only=True)
class TenantRenamed:
    tenant_id: int
    name: str
    previous_name: str
    actor_id: int | None


@dataclass(frozen=True, kw_only=True)
class StripeEventReceived:
    webhook_event_id: int
    stripe_event_id: str


@dataclass(frozen=True, kw_only=True)
class PlanChanged:
    tenant_id: int
    old_plan: str
    new_plan: str
    old_status: str
    new_status: str
    reason: str = ""


user_signed_up = DomainEvent("user.signed_up", UserSignedUp)
"""A person created an account and an organization (welcome email, analytics, Slack)."""

invitation_created = DomainEvent("invitation.created", InvitationChanged)
"""An admin invited an email address to an organization (the invitation email)."""

invitation_resent = DomainEvent("invitation.resent", InvitationChanged)
"""An invitation got a new link and expiry and is to be emailed again."""

invitation_reminder_due = DomainEvent("invitation.reminder_due", InvitationChanged)
"""A pending invitation expires within a day (the reminder email)."""

invitation_declined = DomainEvent("invitation.declined", InvitationChanged)
"""The invitee declined (the organization's admins are told in the app)."""

invitation_expired = DomainEvent("invitation.expired", InvitationChanged)
"""A pending invitation passed its expiry date (the organization's admins are told in the app)."""

member_joined = DomainEvent("member.joined", MemberJoined)
"""A person joined an organization by accepting an invitation (admins are told in the app)."""

member_role_changed = DomainEvent("member.role_changed", MembershipChanged)
"""A member's role changed (by an admin, or both sides of an ownership transfer)."""

member_removed = DomainEvent("member.removed", MembershipChanged)
"""An owner or admin removed a member; their access ended with the commit."""

member_left = DomainEvent("member.left", MembershipChanged)
"""A member left the organization; their access ended with the commit."""

tenant_renamed = DomainEvent("tenant.renamed", TenantRenamed)
"""An owner or admin renamed the organization."""

stripe_event_received = DomainEvent("billing.stripe_event_received", StripeEventReceived)
"""A verified Stripe webhook was stored in the inbox (a task applies it)."""

plan_changed = DomainEvent("plan.changed", PlanChanged)
"""A tenant's plan or billing status really changed (owners get an email, admins a notification)."""
