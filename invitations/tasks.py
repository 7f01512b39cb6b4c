from celery import shared_task
from django.utils import timezone

from invitations.models import Invitation
from invitations.services import invitation_link, invitation_mark_sent, invitations_expire_and_remind
from saas.deliveries import DeliveryTask, delivery_run
from saas.email import email_send
from saas.tasking import SchemaScope

TEMPLATES = {"invitation": "invitations/email/invitation", "reminder": "invitations/email/reminder"}


@shared_task(base=DeliveryTask, bind=True, name="invitations.send_invitation_email")
def send_invitation_email(self, *, delivery_id: int, invitation_id: int, kind: str) -> None:
    """Email the invitation (or its reminder) with the link for its current token."""
    with delivery_run(delivery_id) as delivery:
        if delivery is None:
            return
        invitation = (
            Invitation.objects.select_related("tenant", "invited_by").filter(id=invitation_id).first()
        )
        # Revoked, accepted or expired before the worker got to it: a link would only mislead.
        if invitation is None or invitation.closed_message(timezone.now()):
            return
        inviter = invitation.invited_by
        email_send(
            to=invitation.email,
            template=TEMPLATES[kind],
            context={
                "organization": invitation.tenant.name,
                "inviter": inviter.get_full_name() if inviter else "",
                "role": invitation.get_role_display(),
                "link": invitation_link(invitation=invitation),
                "expires_at": invitation.expires_at,
            },
            idempotency_key=delivery.key,
        )
        invitation_mark_sent(invitation=invitation)


@shared_task(name="invitations.expire_and_remind", ignore_result=True, schema_scope=SchemaScope.PUBLIC)
def expire_and_remind() -> dict[str, int]:
    """Beat: expire overdue invitations and queue reminders for those expiring within a day."""
    return invitations_expire_and_remind()
