"""Reactions to domain events: each side effect of a sign-up is its own delivery.

Separate deliveries (keyed `<event id>:<channel>`) mean one failing channel never blocks
the others, and a re-dispatched event never repeats a channel that already succeeded.
"""

from typing import Any

from django.conf import settings
from django.dispatch import receiver

from accounts import tasks
from saas.deliveries import delivery_enqueue
from saas.signals import user_signed_up


@receiver(user_signed_up, dispatch_uid="accounts.welcome_email")
def on_user_signed_up_send_welcome_email(*, event_id: str, payload: dict[str, Any], tenant_schema: str,
                                         **_: Any) -> None:
    delivery_enqueue(tasks.send_welcome_email, key=f"{event_id}:welcome_email", tenant_schema=tenant_schema,
                     user_id=payload["user_id"], tenant_id=payload["tenant_id"])


@receiver(user_signed_up, dispatch_uid="accounts.analytics_ping")
def on_user_signed_up_ping_analytics(*, event_id: str, payload: dict[str, Any], tenant_schema: str,
                                     **_: Any) -> None:
    if settings.ANALYTICS_URL:
        delivery_enqueue(tasks.analytics_ping, key=f"{event_id}:analytics", tenant_schema=tenant_schema,
                         event_id=event_id, event_name="user.signed_up", payload=payload)


@receiver(user_signed_up, dispatch_uid="accounts.slack_notify")
def on_user_signed_up_notify_slack(*, event_id: str, payload: dict[str, Any], tenant_schema: str,
                                   **_: Any) -> None:
    if settings.SLACK_WEBHOOK_URL:
        delivery_enqueue(tasks.slack_notify, key=f"{event_id}:slack", tenant_schema=tenant_schema,
                         user_id=payload["user_id"], tenant_id=payload["tenant_id"])
