"""The Stripe stand-in over HTTP: what stripe-python sends is decoded as Stripe decodes it."""

from __future__ import annotations

import requests

from devtools.stripe_fake.server import form_decode


def test_stripes_form_encoding_becomes_nested_data():
    body = "mode=subscription&line_items[0][price]=price_pro&line_items[0][quantity]=2&metadata[tenant]=7"

    assert form_decode(body) == {
        "mode": "subscription",
        "line_items": [{"price": "price_pro", "quantity": "2"}],
        "metadata": {"tenant": "7"},
    }


def test_the_api_needs_a_secret_key_and_answers_idempotent_posts_once(stripe_fake):
    assert requests.post(f"{stripe_fake.url}/v1/customers", timeout=5).status_code == 401
    headers = {"Authorization": "Bearer sk_test_x", "Idempotency-Key": "k1"}
    first = requests.post(
        f"{stripe_fake.url}/v1/customers", data={"email": "a@example.com"}, headers=headers, timeout=5
    )
    again = requests.post(
        f"{stripe_fake.url}/v1/customers", data={"email": "a@example.com"}, headers=headers, timeout=5
    )

    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert len(stripe_fake.customers) == 1


def test_the_hosted_checkout_page_completes_the_subscription_and_redirects(stripe_fake):
    customer = stripe_fake.customer_create({"email": "a@example.com"})
    session = stripe_fake._checkout_create(
        {
            "mode": "subscription",
            "customer": customer["id"],
            "line_items": [{"price": "price_pro"}],
            "success_url": "http://localhost/done",
        }
    )
    page = requests.get(session["url"], timeout=5)
    assert page.status_code == 200 and "Subscribe" in page.text
    submitted = requests.post(f"{session['url']}/submit", allow_redirects=False, timeout=5)

    assert (submitted.status_code, submitted.headers["Location"]) == (303, "http://localhost/done")
    [subscription] = stripe_fake.subscriptions.values()
    assert (subscription["customer"], subscription["status"]) == (customer["id"], "active")
