"""Side effects of a sign-up, run by the worker with retries (saas.deliveries.DeliveryTask).

Each task takes ids, runs its effect inside `delivery_run` (which skips a delivery already
done) and lets network errors propagate so Celery retries with backoff.
"""

from typing import Any

import requests
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from celery import shared_task
from django.conf import settings
from django.urls import reverse

from accounts.models import User
from saas.deliveries import DeliveryTask, delivery_run
from saas.email import email_send
from saas.hosts import public_url
from tenants.models import Tenant
from tenants.selectors import tenant_absolute_url


def _post_json(url: str, body: dict[str, Any]) -> None:
    response = requests.post(url, json=body, timeout=settings.OUTBOUND_HTTP_TIMEOUT_SECONDS)
    response.raise_for_status()  # a 5xx is an HTTPError, a RequestException: retried


def _organization(tenant_id: int) -> tuple[Tenant, str]:
    tenant = Tenant.objects.prefetch_related("domains").get(pk=tenant_id)
    return tenant, tenant_absolute_url(tenant=tenant)


def _confirmation_url(user: User) -> str | None:
    """allauth's link confirming the user's address (on the public host), if unconfirmed."""
    address = EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=False).first()
    if address is None:
        return None
    key = EmailConfirmationHMAC(address).key
    return public_url(reverse("account_confirm_email", args=[key], urlconf=settings.PUBLIC_SCHEMA_URLCONF))


@shared_task(base=DeliveryTask, bind=True, name="accounts.send_welcome_email")
def send_welcome_email(self: DeliveryTask, *, delivery_id: int, user_id: int, tenant_id: int) -> None:
    """Email the new owner a welcome with their organization's address."""
    with delivery_run(delivery_id) as delivery:
        if delivery is None:
            return
        user = User.objects.get(pk=user_id)
        tenant, url = _organization(tenant_id)
        email_send(
            to=user.email,
            template="accounts/email/welcome",
            context={
                "user": user,
                "organization": tenant,
                "organization_url": url,
                "confirm_url": _confirmation_url(user),
            },
            idempotency_key=delivery.key,
        )


@shared_task(base=DeliveryTask, bind=True, name="accounts.analytics_ping")
def analytics_ping(
    self: DeliveryTask, *, delivery_id: int, event_id: str, event_name: str, payload: dict[str, Any]
) -> None:
    """POST the event to the analytics endpoint (ANALYTICS_URL)."""
    with delivery_run(delivery_id) as delivery:
        if delivery is None or not settings.ANALYTICS_URL:
            return
        _post_json(settings.ANALYTICS_URL, {"event_id": event_id, "event": event_name, **payload})


@shared_task(base=DeliveryTask, bind=True, name="accounts.slack_notify")
def slack_notify(self: DeliveryTask, *, delivery_id: int, user_id: int, tenant_id: int) -> None:
    """Tell the team's Slack channel (SLACK_WEBHOOK_URL) about a new organization."""
    with delivery_run(delivery_id) as delivery:
        if delivery is None or not settings.SLACK_WEBHOOK_URL:
            return
        user = User.objects.get(pk=user_id)
        tenant, url = _organization(tenant_id)
        _post_json(
            settings.SLACK_WEBHOOK_URL, {"text": f"New sign-up: {user.email} created {tenant.name} ({url})"}
        )
