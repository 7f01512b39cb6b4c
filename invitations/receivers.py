"""Reactions to invitation events: each enqueues one recorded email delivery."""

from invitations.tasks import send_invitation_email
from saas.deliveries import delivery_enqueue
from saas.events import Envelope
from saas.signals import InvitationChanged, invitation_created, invitation_reminder_due, invitation_resent


def _email(event: Envelope[InvitationChanged], kind: str) -> None:
    delivery_enqueue(
        send_invitation_email,
        key=event.key("email"),
        tenant_schema=event.tenant_schema,
        invitation_id=event.payload.invitation_id,
        kind=kind,
    )


@invitation_created.receiver("invitations.email_on_created")
def email_on_created(event: Envelope[InvitationChanged]) -> None:
    _email(event, "invitation")


@invitation_resent.receiver("invitations.email_on_resent")
def email_on_resent(event: Envelope[InvitationChanged]) -> None:
    _email(event, "invitation")


@invitation_reminder_due.receiver("invitations.email_on_reminder_due")
def email_on_reminder_due(event: Envelope[InvitationChanged]) -> None:
    _email(event, "reminder")
