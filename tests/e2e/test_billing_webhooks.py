"""Stripe webhooks end to end: the real endpoint (uvicorn), the outbox, a Celery worker, SMTP,
and the Stripe stand-in over HTTP."""

from __future__ import annotations

import json
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
from tests.conftest import on_plan
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


def _tenant_with_owner(make_tenant, member_of) -> tuple[Tenant, str, str]:
    """A new tenant, its owner's email address and its Stripe customer id."""
    tenant = make_tenant()
    owner = member_of(tenant, role="owner")
    return tenant, owner.email, customer_ensure(tenant=tenant)


def test_stripe_down_while_events_arrive_every_event_is_applied_once_after_it_returns(
    paying_tenant, make_tenant, member_of, stripe_fake, asgi_server, celery_worker, smtp_server
):
    """Six events of six types for six tenants arrive (each twice, as Stripe retries) while the
    stand-in is down: all acknowledged, none applied; once it is back, each is applied exactly
    once (one delivery, one plan change audited under its event id, one email), none lost."""
    cases: list[dict] = []  # tenant, owner's email, the event, the plan and status it leads to

    def case(tenant: Tenant, email: str, event_type: str, obj: dict, plan: str, status: str) -> None:
        cases.append(
            {"tenant": tenant, "email": email, "payload": event_payload(event_type, obj), "plan": plan,
             "status": status, "type": event_type}
        )  # fmt: skip

    # Free tenants that start paying.
    tenant, email, customer = _tenant_with_owner(make_tenant, member_of)
    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    case(tenant, email, "customer.subscription.created", subscription, "pro", "active")
    tenant, email, customer = _tenant_with_owner(make_tenant, member_of)
    subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
    case(tenant, email, "invoice.paid", stripe_fake.invoices[subscription["latest_invoice"]], "pro", "active")
    tenant, email, customer = _tenant_with_owner(make_tenant, member_of)
    session = stripe_fake._checkout_create(
        {"mode": "subscription", "customer": customer,
         "line_items": [{"price": "price_business", "quantity": 1}]}
    )  # fmt: skip
    stripe_fake.checkout_complete(session["id"])  # no webhook_url: nothing is sent by the stand-in
    case(
        tenant,
        email,
        "checkout.session.completed",
        stripe_fake.checkout_sessions[session["id"]],
        "business",
        "active",
    )
    # Pro tenants whose subscription changes at Stripe: upgraded, cancelled, a payment failing.
    for event_type, change, plan, status in (
        ("customer.subscription.updated", {"price": "price_business"}, "business", "active"),
        ("customer.subscription.deleted", {"status": "canceled"}, "free", "canceled"),
        ("invoice.payment_failed", {"status": "past_due"}, "pro", "past_due"),
    ):
        tenant, email, customer = _tenant_with_owner(make_tenant, member_of)
        subscription = stripe_fake.subscription_create(customer=customer, price="price_pro")
        on_plan(tenant, "pro", status="active", stripe_subscription_id=subscription["id"])
        subscription = stripe_fake.subscription_set(subscription["id"], **change)
        obj = (
            stripe_fake.invoice_create(subscription=subscription, paid=False)
            if event_type.startswith("invoice.")
            else subscription
        )
        case(tenant, email, event_type, obj, plan, status)
    before = {
        c["tenant"].pk: (
            billing_account_get(tenant=c["tenant"]).plan,
            billing_account_get(tenant=c["tenant"]).status,
        )
        for c in cases
    }
    event_ids = [json.loads(c["payload"])["id"] for c in cases]

    stripe_fake.stop()
    for attempt in range(2):  # Stripe delivers again when it is unsure the first one arrived
        for c in cases:
            response = deliver(asgi_server.port, c["payload"])
            assert response.status_code == 200  # acknowledged although Stripe cannot be read now
            assert response.json().get("duplicate", False) is (attempt == 1)
    assert WebhookEvent.objects.filter(stripe_id__in=event_ids).count() == len(cases)

    def all_failed_with_their_error() -> bool:
        events = WebhookEvent.objects.filter(stripe_id__in=event_ids)
        return all(
            e.state == WebhookEvent.State.FAILED and "APIConnectionError" in e.last_error for e in events
        )

    wait_until(all_failed_with_their_error, timeout=30, message="every event to fail with its error")
    for c in cases:  # nothing applied while Stripe was down
        account = billing_account_get(tenant=c["tenant"])
        assert (account.plan, account.status) == before[c["tenant"].pk], c["type"]
    assert smtp_server.messages == []

    stripe_fake.start()
    wait_until(
        lambda: (
            WebhookEvent.objects.filter(stripe_id__in=event_ids, state=WebhookEvent.State.PROCESSED).count()
            == len(cases)
        ),
        timeout=60,
        message="the worker's retries to apply every event",
    )
    smtp_server.wait_for(len(cases), timeout=30)
    time.sleep(1.5)  # room for a wrong second application or email to arrive
    for c, event_id in zip(cases, event_ids, strict=True):
        event = WebhookEvent.objects.get(stripe_id=event_id)
        assert event.attempts >= 2 and event.tenant_id == c["tenant"].pk, c["type"]  # failed, then applied
        assert TaskDelivery.objects.filter(key__startswith=f"stripe-event:{event_id}").count() == 1
        account = billing_account_get(tenant=c["tenant"])
        assert (account.plan, account.status) == (c["plan"], c["status"]), c["type"]
        with schema_context(c["tenant"].schema_name):
            applied = AuditEvent.objects.filter(action="billing.plan_changed")
            assert [a.data["reason"] for a in applied] == [f"stripe:{event_id}"], c["type"]
        assert sum(c["email"] in str(m["To"]) for m in smtp_server.messages) == 1, c["type"]
    assert len(smtp_server.messages) == len(cases)
    print(f"\nstripe down: {len(cases)} events ({len({c['type'] for c in cases})} types), "
          f"{2 * len(cases)} deliveries while down, "
          f"{sum(WebhookEvent.objects.get(stripe_id=i).attempts for i in event_ids)} attempts; "
          "applied once each, 0 lost, 0 twice")  # fmt: skip


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
