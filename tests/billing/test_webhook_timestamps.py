"""The signature tolerance applies both ways: a timestamp too far in the future is refused
like a stale one (issue 9, item 13)."""

import time

import pytest

from billing.models import WebhookEvent
from tests.billing.conftest import WEBHOOK_SECRET, post_event, stripe_event


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_WEBHOOK_TOLERANCE = 300


def test_a_timestamp_from_the_future_is_refused(public_client):
    payload = stripe_event("invoice.paid", {"id": "in_future"})

    response = post_event(public_client, payload, timestamp=int(time.time()) + 400)

    assert response.status_code == 400
    assert b"Invalid signature" in response.content
    assert not WebhookEvent.objects.exists()


def test_a_timestamp_just_ahead_within_the_tolerance_is_accepted(public_client):
    # Clocks differ by seconds: Stripe's slightly ahead of ours must not refuse deliveries.
    payload = stripe_event("invoice.paid", {"id": "in_ahead"})

    assert post_event(public_client, payload, timestamp=int(time.time()) + 290).status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_a_forged_signature_with_a_future_timestamp_is_still_a_signature_error(public_client):
    payload = stripe_event("invoice.paid", {"id": "in_forged"})

    response = post_event(public_client, payload, secret="whsec_wrong", timestamp=int(time.time()) + 400)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
