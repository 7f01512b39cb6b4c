"""Reactions to domain events: in-app notifications for the people who should know."""

from accounts.models import Membership, User
from billing.plans import plan_change_news, plan_get
from invitations.models import Invitation
from notifications.services import notification_create_for_admins
from saas.events import Envelope
from saas.signals import (
    InvitationChanged,
    MemberJoined,
    PlanChanged,
    invitation_declined,
    invitation_expired,
    member_joined,
    plan_changed,
)


@plan_changed.receiver("notifications.plan_changed")
def on_plan_changed(event: Envelope[PlanChanged]) -> None:
    news = plan_change_news(event.payload)
    if news is None:
        return
    if news == "payment_failed":
        title = "A payment failed: update your card to keep your plan."
    else:
        title = f"Your plan is now {plan_get(event.payload.new_plan).name}."
    notification_create_for_admins(
        tenant_id=event.payload.tenant_id,
        event_id=event.id,
        kind=f"billing.{news}",
        title=title,
        url="/billing/",
    )


@member_joined.receiver("notifications.member_joined")
def on_member_joined(event: Envelope[MemberJoined]) -> None:
    joined = User.objects.filter(pk=event.payload.user_id).first()
    if joined is None:
        return  # the account was deleted since: nobody to announce
    role = Membership.Role(event.payload.role).label
    notification_create_for_admins(
        tenant_id=event.payload.tenant_id,
        event_id=event.id,
        kind="members.joined",
        title=f"{joined.get_full_name()} joined as {role}.",
        url="/members/",
        exclude_user_id=joined.pk,
    )


def _invitation_closed(event: Envelope[InvitationChanged], *, kind: str, verb: str) -> None:
    invitation = Invitation.objects.filter(pk=event.payload.invitation_id).first()
    if invitation is None:
        return
    notification_create_for_admins(
        tenant_id=event.payload.tenant_id,
        event_id=event.id,
        kind=kind,
        title=f"The invitation for {invitation.email} {verb}.",
        url="/members/",
    )


@invitation_declined.receiver("notifications.invitation_declined")
def on_invitation_declined(event: Envelope[InvitationChanged]) -> None:
    _invitation_closed(event, kind="invitations.declined", verb="was declined")


@invitation_expired.receiver("notifications.invitation_expired")
def on_invitation_expired(event: Envelope[InvitationChanged]) -> None:
    _invitation_closed(event, kind="invitations.expired", verb="expired")
