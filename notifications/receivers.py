"""Reactions to domain events: in-app notifications for the tenant's admins."""

from typing import Any

from django.dispatch import receiver

from billing.plans import plan_change_news, plan_get
from notifications.services import notification_create_for_admins
from saas.signals import plan_changed


@receiver(plan_changed, dispatch_uid="notifications.plan_changed")
def on_plan_changed(*, event_id: str, payload: dict[str, Any], **_: Any) -> None:
    news = plan_change_news(payload)
    if news is None:
        return
    if news == "payment_failed":
        title = "A payment failed: update your card to keep your plan."
    else:
        title = f"Your plan is now {plan_get(payload['new_plan']).name}."
    notification_create_for_admins(
        tenant_id=payload["tenant_id"],
        event_id=event_id,
        kind=f"billing.{news}",
        title=title,
        url="/billing/",
    )
