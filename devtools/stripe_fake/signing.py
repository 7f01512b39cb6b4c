"""Stripe's wire formats for the stand-in and the tests: ids, event bodies, signatures."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

import requests

API_VERSION = "2026-08-26.dahlia"
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    """A Stripe-shaped id (`cus_...`, `evt_...`), unique within this process."""
    return f"{prefix}_fake{int(time.time() * 1000) % 10**9}{next(_ids):05d}"


def webhook_signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe sends: `t=<unix ts>,v1=<hex HMAC-SHA256>`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_payload(
    event_type: str, data_object: dict[str, Any], *, event_id: str | None = None, created: int | None = None
) -> str:
    """A Stripe event body (JSON text) as Stripe would send it."""
    return json.dumps(
        {
            "id": event_id or new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": created or int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            "data": {"object": data_object},
        }
    )


def signed_event_post(url: str, secret: str, event_type: str, data_object: dict[str, Any]) -> None:
    """POST an event about `data_object` to `url`, signed with `secret`, as Stripe delivers one."""
    payload = event_payload(event_type, data_object)
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": webhook_signature_header(payload, secret),
    }
    try:
        requests.post(url, data=payload.encode(), headers=headers, timeout=10)
    except requests.RequestException as error:  # Stripe would retry later; say so and go on
        print(f"stripe_fake: webhook {event_type} not delivered: {error}", flush=True)
