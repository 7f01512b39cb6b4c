"""Billing fixtures: the Stripe stand-in served over HTTP, signed webhook deliveries."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from billing.services import customer_ensure
from config.celery import app as celery_app
from devtools.stripe_fake import event_payload, webhook_signature_header

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_settings(settings, stripe_fake):
    """Billing switched on in test mode, talking to the stand-in."""
    settings.STRIPE_SECRET_KEY = "sk_test_" + "f" * 24  # the shape dj-stripe accepts
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_fake"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = stripe_fake.url
    settings.STRIPE_PRICE_PRO = "price_pro"
    settings.STRIPE_PRICE_BUSINESS = "price_business"
    settings.STRIPE_TIMEOUT_SECONDS = 3
    return settings


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Tasks run in-process when enqueued (for tests without a worker; configuration, not a patch)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_always_eager = False


def signed(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Headers of a Stripe delivery of `payload`, signed the way Stripe signs it."""
    return {"Stripe-Signature": webhook_signature_header(payload, secret, timestamp)}


def post_event(client: Client, payload: str, **sign: Any):
    return client.post(
        "/billing/webhook/",
        data=payload,
        content_type="application/json",
        headers=signed(payload, **sign),
    )


def stripe_event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> str:
    return event_payload(event_type, json.loads(json.dumps(obj)), event_id=event_id, created=int(time.time()))


@pytest.fixture
def public_host() -> str:
    return settings.SAAS_BASE_DOMAIN


@pytest.fixture
def owner(tenant, member_of):
    return member_of(tenant, role="owner")


@pytest.fixture
def customer(tenant, owner):
    return customer_ensure(tenant=tenant)


@pytest.fixture
def deliver(public_client, django_capture_on_commit_callbacks):
    """Post a signed event to the endpoint and run what its commit sets off (tasks run eagerly)."""

    def deliver(payload: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_event(public_client, payload)
        assert response.status_code == 200, response.content

    return deliver
