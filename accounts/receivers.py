"""Reactions to domain events: each side effect of a sign-up is its own delivery.

Separate deliveries (keyed `<event id>:<channel>`) mean one failing channel never blocks
the others, and a re-dispatched event never repeats a channel that already succeeded.
"""

from typing import Any

import structlog
from django.conf import settings
from django.dispatch import receiver

from accounts import tasks
from saas.deliveries import delivery_enqueue
from saas.signals import user_signed_up

logger = structlog.get_logger(__name__)


def _ids(event_id: str, payload: dict[str, Any]) -> dict[str, int] | None:
    # A payload without its ids can never succeed; raising would keep the event pending and
    # re-dispatched forever, so it is logged loudly and skipped.
    try:
        return {"user_id": int(payload["user_id"]), "tenant_id": int(payload["tenant_id"])}
    except (KeyError, TypeError, ValueError):
        logger.error("user.signed_up without user_id/tenant_id", event_id=event_id, payload=payload)
        return None


@receiver(user_signed_up, dispatch_uid="accounts.welcome_email")
def on_user_signed_up_send_welcome_email(
    *, event_id: str, payload: dict[str, Any], tenant_schema: str, **_: Any
) -> None:
    ids = _ids(event_id, payload)
    if ids:
        delivery_enqueue(
            tasks.send_welcome_email, key=f"{event_id}:welcome_email", tenant_schema=tenant_schema, **ids
        )


@receiver(user_signed_up, dispatch_uid="accounts.analytics_ping")
def on_user_signed_up_ping_analytics(
    *, event_id: str, payload: dict[str, Any], tenant_schema: str, **_: Any
) -> None:
    ids = _ids(event_id, payload)
    if ids and settings.ANALYTICS_URL:
        delivery_enqueue(
            tasks.analytics_ping,
            key=f"{event_id}:analytics",
            tenant_schema=tenant_schema,
            event_id=event_id,
            event_name="user.signed_up",
            payload=ids,
        )


@receiver(user_signed_up, dispatch_uid="accounts.slack_notify")
def on_user_signed_up_notify_slack(
    *, event_id: str, payload: dict[str, Any], tenant_schema: str, **_: Any
) -> None:
    ids = _ids(event_id, payload)
    if ids and settings.SLACK_WEBHOOK_URL:
        delivery_enqueue(tasks.slack_notify, key=f"{event_id}:slack", tenant_schema=tenant_schema, **ids)
