"""Reactions to domain events: each side effect of a sign-up is its own delivery.

Separate deliveries (keyed `<event id>:<channel>`) mean one failing channel never blocks
the others, and a re-dispatched event never repeats a channel that already succeeded.
"""

from dataclasses import asdict

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from accounts import tasks
from saas.deliveries import delivery_enqueue
from saas.events import Envelope
from saas.signals import UserSignedUp, user_signed_up


@user_signed_up.receiver("accounts.welcome_email")
def on_user_signed_up_send_welcome_email(event: Envelope[UserSignedUp]) -> None:
    delivery_enqueue(
        tasks.send_welcome_email,
        key=event.key("welcome_email"),
        tenant_schema=event.tenant_schema,
        user_id=event.payload.user_id,
        tenant_id=event.payload.tenant_id,
    )


@user_signed_up.receiver("accounts.analytics_ping")
def on_user_signed_up_ping_analytics(event: Envelope[UserSignedUp]) -> None:
    if settings.ANALYTICS_URL:
        delivery_enqueue(
            tasks.analytics_ping,
            key=event.key("analytics"),
            tenant_schema=event.tenant_schema,
            event_id=event.id,
            event_name=event.name,
            payload=asdict(event.payload),
        )


@user_signed_up.receiver("accounts.slack_notify")
def on_user_signed_up_notify_slack(event: Envelope[UserSignedUp]) -> None:
    if settings.SLACK_WEBHOOK_URL:
        delivery_enqueue(
            tasks.slack_notify,
            key=event.key("slack"),
            tenant_schema=event.tenant_schema,
            user_id=event.payload.user_id,
            tenant_id=event.payload.tenant_id,
        )


@receiver(user_logged_in, dispatch_uid="accounts.user_session_record")
def on_user_logged_in_record_session(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    """Every login's session, on every host, is listed so it can be ended (a role change does).

    allauth records the sessions of its own login page; the hand-off logs in with Django's
    `login` on each tenant host, which only sends Django's signal.
    """
    # Django's test client `force_login` sends a bare request without a user or a client.
    user = getattr(request, "user", None)
    if request is not None and user is not None and user.is_authenticated:
        UserSession.objects.create_from_request(request)
