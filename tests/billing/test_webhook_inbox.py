"""The webhook endpoint: verification, durable storage once per Stripe event id, bad input."""

import time

import pytest

from billing.models import WebhookEvent
from billing.services import webhook_event_process
from saas.models import OutboxEvent
from tests.billing.conftest import post_event, signed, stripe_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


def _outbox(name="billing.stripe_event_received"):
    return OutboxEvent.objects.filter(name=name)


def test_a_signed_event_is_stored_and_acknowledged(public_client):
    payload = stripe_event("customer.subscription.updated", {"id": "sub_1", "customer": "cus_1"})
    response = post_event(public_client, payload)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    event = WebhookEvent.objects.get()
    assert event.body == payload  # the exact bytes Stripe signed
    assert (event.type, event.customer_id) == ("customer.subscription.updated", "cus_1")
    assert event.state == WebhookEvent.State.PENDING
    assert _outbox().get().payload["webhook_event_id"] == event.id


def test_a_duplicate_delivery_is_acknowledged_and_not_stored_again(public_client):
    payload = stripe_event("invoice.paid", {"id": "in_1", "customer": "cus_1", "subscription": "sub_1"})
    first = post_event(public_client, payload)
    again = post_event(public_client, payload, timestamp=int(time.time()) + 1)  # Stripe re-signs retries
    assert first.status_code == again.status_code == 200
    assert again.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1
    assert _outbox().count() == 1  # processing announced once


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing signature"),
        ({"Stripe-Signature": "t=1,v1=deadbeef"}, "garbage signature"),
    ],
)
def test_missing_or_bad_signature_is_refused(public_client, headers, reason):
    payload = stripe_event("invoice.paid", {"id": "in_1"})
    response = public_client.post(
        "/billing/webhook/", data=payload, content_type="application/json", headers=headers
    )
    assert response.status_code == 400, reason
    assert not WebhookEvent.objects.exists()


def test_signed_with_another_secret_is_refused(public_client):
    response = post_event(public_client, stripe_event("invoice.paid", {"id": "in_1"}), secret="whsec_other")
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_tampered_body_is_refused(public_client):
    payload = stripe_event("invoice.paid", {"id": "in_1", "amount_paid": 100})
    headers = signed(payload)
    tampered = payload.replace('"amount_paid": 100', '"amount_paid": 1')
    response = public_client.post(
        "/billing/webhook/", data=tampered, content_type="application/json", headers=headers
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_stale_timestamp_is_refused(public_client):
    payload = stripe_event("invoice.paid", {"id": "in_1"})
    response = post_event(public_client, payload, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert b"Invalid signature" in response.content
    # Just inside the 300 s tolerance is accepted.
    assert post_event(public_client, payload, timestamp=int(time.time()) - 290).status_code == 200


@pytest.mark.parametrize("body", ["not json {", "[1, 2]", '{"object": "event"}', '{"id": ""}'])
def test_an_unparsable_or_foreign_body_is_refused_even_when_signed(public_client, body):
    assert post_event(public_client, body).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_only_post_on_the_public_host(public_client, tenant_client):
    assert public_client.get("/billing/webhook/").status_code == 405
    payload = stripe_event("invoice.paid", {"id": "in_1"})
    assert post_event(tenant_client, payload).status_code == 404  # not a tenant URL


def test_unconfigured_webhook_secret_is_a_503_not_an_open_door(public_client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert post_event(public_client, stripe_event("invoice.paid", {"id": "in_1"})).status_code == 503
    assert not WebhookEvent.objects.exists()


def test_an_unknown_event_type_is_stored_acknowledged_and_ignored(public_client):
    payload = stripe_event("customer.tax_id.created", {"id": "txi_1", "customer": "cus_1"})
    assert post_event(public_client, payload).status_code == 200
    event = webhook_event_process(webhook_event_id=WebhookEvent.objects.get().id)
    assert event.state == WebhookEvent.State.IGNORED
    assert webhook_event_process(webhook_event_id=event.id).attempts == 1  # not processed twice


def test_an_event_for_an_unknown_customer_is_stored_and_flagged(public_client):
    payload = stripe_event("customer.subscription.updated", {"id": "sub_9", "customer": "cus_nobody"})
    assert post_event(public_client, payload).status_code == 200
    event = webhook_event_process(webhook_event_id=WebhookEvent.objects.get().id)
    assert event.state == WebhookEvent.State.UNMATCHED
    assert "cus_nobody" in event.last_error
