"""A small Stripe API stand-in over HTTP, for tests and `make dev` (no network, no account).

It implements the endpoints billing uses, with in-memory state: customers, prices, checkout
sessions (with a hosted "pay" page), billing-portal sessions (with a "cancel" page),
subscriptions and invoices. Completing a checkout or cancelling in the portal sends the same
signed webhooks Stripe would (`t=<ts>,v1=<hmac>`) to `webhook_url`.

    python -m devtools.stripe_fake --port 12111 \
        --webhook-url http://localhost:8000/billing/webhook/ --webhook-secret whsec_dev

Point the app at it with STRIPE_API_BASE=http://127.0.0.1:12111. localstripe, the usual
choice, is unmaintained and does not speak the API version stripe-python 15 sends.

state.py holds the objects and their changes, server.py the HTTP API (routes, form
decoding), pages.py the hosted checkout and portal pages, signing.py ids, event bodies and
the Stripe-Signature header.
"""

from devtools.stripe_fake.server import FakeStripe
from devtools.stripe_fake.signing import event_payload, webhook_signature_header

__all__ = ["FakeStripe", "event_payload", "webhook_signature_header"]
