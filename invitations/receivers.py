"""Reactions to invitation events: each enqueues one recorded email delivery."""

from django.dispatch import receiver

from invitations.tasks import send_invitation_email
from saas.deliveries import delivery_enqueue
from saas.signals import invitation_created, invitation_reminder_due, invitation_resent


@receiver(invitation_created, dispatch_uid="invitations.email_on_created")
@receiver(invitation_resent, dispatch_uid="invitations.email_on_resent")
def email_invitation(*, event_id: str, payload: dict, tenant_schema: str, **_: object) -> None:
    delivery_enqueue(
        send_invitation_email,
        key=f"{event_id}:email",
        tenant_schema=tenant_schema,
        invitation_id=payload["invitation_id"],
        kind="invitation",
    )


@receiver(invitation_reminder_due, dispatch_uid="invitations.email_on_reminder_due")
def email_reminder(*, event_id: str, payload: dict, tenant_schema: str, **_: object) -> None:
    delivery_enqueue(
        send_invitation_email,
        key=f"{event_id}:email",
        tenant_schema=tenant_schema,
        invitation_id=payload["invitation_id"],
        kind="reminder",
    )
