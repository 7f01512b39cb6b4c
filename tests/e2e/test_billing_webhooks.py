"""Stripe webhooks end to end: the real endpoint (uvicorn), the outbox, a Celery worker, SMTP,
and the Stripe stand-in over HTTP."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from django.conf import settings
from django_tenants.utils import schema_context

from activity.models import AuditEvent
from billing.models import WebhookEvent
from billing.selectors import billing_account_get
from billing.services import customer_ensure
from devtools.processes import wait_until
from devtools.stripe_fake import event_payload, webhook_signature_header
from saas.models import TaskDelivery
from tenants.models import Tenant
from tests.e2e.support.client import signed_in

pytestmark = pytest.mark.e2e

WEBHOOK_SECRET = "whsec_e2e"


@pytest.fixture
def e2e_env_overrides(stripe_fake) -> dict[str, str | None]:
    return {
        "STRIPE_SECRET_KEY": "sk_test_" + "e" * 24,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_fake.url,
        "STRIPE_PRICE_PRO": "price_pro",
        "STRIPE_PRICE_BUSINESS": "price_business",
        "STRIPE_TIMEOUT_SECONDS": "2",
    }


@pytest.fixture
def paying_tenant(e2e_env, e2e_env_overrides, settings, make_tenant, member_of, stripe_fake):
    """A tenant with an owner and a Stripe customer that has an active Pro subscription."""
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "STRIPE_PRICE_PRO"):
        setattr(settings, name, e2e_env_overrides[name])
    tenant = make_tenant()
    owner = member_of(tenant, role="owner")
    customer = customer_ensure(tenant=tenant)
    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    return tenant, owner, subscription


def deliver(server_port: int, payload: str) -> requests.Response:
    """POST a Stripe-signed event to the public host's endpoint, as Stripe does."""
    return requests.post(
        f"http://127.0.0.1:{server_port}/billing/webhook/",
        data=payload.encode(),
        headers={
            "Host": f"{settings.SAAS_BASE_DOMAIN}:{server_port}",
            "Content-Type": "application/json",
            "Stripe-Signature": webhook_signature_header(payload, WEBHOOK_SECRET),
        },
        timeout=15,
    )


def plan_audits(tenant: Tenant) -> int:
    with schema_context(tenant.schema_name):
        return AuditEvent.objects.filter(action="billing.plan_changed").count()


def test_payment_succeeded_50_times_concurrently_upgrades_once(
    paying_tenant, stripe_fake, asgi_server, celery_worker, smtp_server
):
    tenant, owner, subscription = paying_tenant
    payload = event_payload("invoice.paid", stripe_fake.invoices[subscription["latest_invoice"]])
    responses: list[int] = []
    start = threading.Barrier(50)

    def send() -> None:
        start.wait(timeout=10)
        responses.append(deliver(asgi_server.port, payload).status_code)

    threads = [threading.Thread(target=send) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert responses == [200] * 50
    assert WebhookEvent.objects.count() == 1

    wait_until(lambda: billing_account_get(tenant=tenant).plan == "pro", timeout=30, message="the upgrade")
    messages = smtp_server.wait_for(1, timeout=20)
    time.sleep(1.5)  # room for a wrong second email to arrive
    assert [m["Subject"] for m in smtp_server.messages] == ["Your Foundry plan is now Pro"]
    assert owner.email in str(messages[0]["To"])
    assert plan_audits(tenant) == 1
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED
    assert TaskDelivery.objects.filter(key__startswith="stripe-event:").count() == 1

    # The same payment delivered again later (Stripe retries for days): acknowledged, nothing new.
    assert deliver(asgi_server.port, payload).json() == {"received": True, "duplicate": True}
    time.sleep(1)
    assert len(smtp_server.messages) == 1 and plan_audits(tenant) == 1


def test_stripe_down_the_event_is_retried_until_it_comes_back(
    paying_tenant, stripe_fake, asgi_server, celery_worker, smtp_server
):
    tenant, _, subscription = paying_tenant
    stripe_fake.stop()
    response = deliver(asgi_server.port, event_payload("customer.subscription.created", subscription))
    assert response.status_code == 200  # acknowledged although Stripe cannot be read now

    def failed_with_its_error() -> bool:
        event = WebhookEvent.objects.get()
        return event.state == WebhookEvent.State.FAILED and "APIConnectionError" in event.last_error

    wait_until(failed_with_its_error, timeout=30, message="the event failed with its error")
    assert billing_account_get(tenant=tenant).plan == "free"

    stripe_fake.start()
    wait_until(
        lambda: WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED,
        timeout=40,
        message="the worker's retry to succeed",
    )
    event = WebhookEvent.objects.get()
    assert event.attempts >= 2  # failed at least once, then succeeded
    assert billing_account_get(tenant=tenant).plan == "pro"
    smtp_server.wait_for(1, timeout=20)
    assert plan_audits(tenant) == 1


def test_upgrade_through_checkout_on_the_stand_in(
    paying_tenant, stripe_fake, asgi_server, celery_worker, smtp_server, browser_client
):
    tenant, owner, subscription = paying_tenant
    stripe_fake.subscription_set(subscription["id"], status="canceled")  # start from no subscription
    stripe_fake.webhook_url = f"http://{settings.SAAS_BASE_DOMAIN}:{asgi_server.port}/billing/webhook/"
    stripe_fake.webhook_secret = WEBHOOK_SECRET
    host = tenant.domains.get(is_primary=True).domain
    signed_in(browser_client, owner, host)
    billing_url = f"http://{host}:{asgi_server.port}/billing/"

    page = browser_client.get(billing_url)
    assert page.status_code == 200 and "Upgrade to Pro" in page.text
    to_checkout = browser_client.post(billing_url + "upgrade/", {"plan": "pro"}, follow=False)
    assert to_checkout.status_code == 302
    checkout_url = to_checkout.headers["Location"]
    assert checkout_url.startswith(f"{stripe_fake.url}/checkout/")

    paid = requests.post(checkout_url + "/submit", allow_redirects=False, timeout=15)  # "Subscribe"
    assert paid.status_code == 303 and paid.headers["Location"].startswith(billing_url)

    wait_until(lambda: billing_account_get(tenant=tenant).plan == "pro", timeout=30, message="the upgrade")
    wait_until(
        lambda: WebhookEvent.objects.filter(state="processed").count() == 3,
        timeout=30,
        message="the session, subscription and invoice events to be applied",
    )
    assert [m["Subject"] for m in smtp_server.wait_for(1, timeout=20)] == ["Your Foundry plan is now Pro"]
    page = browser_client.get(billing_url)
    assert 'id="current-plan">Pro<' in page.text
    assert page.text.count("FAKE-") == 2  # the first subscription's invoice and this one
